/** The recovery process's repository is db/repositories/recovery.ts; this name stays for its older importers. */
export * from './recovery';
