/**
 * Secrets of accounts at rest: codes and tokens are stored as keyed hashes (a database dump alone
 * cannot test guesses offline), TOTP secrets are sealed. Keys are derived with HKDF from the
 * payload master key under their own labels, so they share nothing with payload or document keys.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../temporal/codec';
import { newCaseKey, openDocument, sealDocument, unwrapCaseKey } from './documentCrypto';

export interface AccountSecrets {
  /** HMAC of a code bound to what it is for (`scope`), e.g. a recovery request id. */
  codeHash(scope: string, code: string): Buffer;
  codeMatches(stored: Buffer | null, scope: string, code: string): boolean;
  /**
   * 2FA backup codes live for years, across rotations of PAYLOAD_ENCRYPTION_KEY: each hash is made
   * under the current key and stored with that key's id, and checked under the key it names for as
   * long as that key stays among the decryption keys. A code without a key id (made before ids were
   * recorded) is checked under every key.
   */
  backupCodeHash(accountId: string, code: string): { keyId: string; hash: Buffer };
  backupCodeCandidates(accountId: string, code: string, keyIds: readonly (string | null)[]): Buffer[];
  sealTotp(accountId: string, secret: Buffer): Buffer;
  openTotp(accountId: string, sealed: Buffer): Buffer;
}

export function accountSecrets(keyring: Keyring): AccountSecrets {
  const hmacKeys = new Map(
    [...keyring.keys].map(([id, master]) => [id, Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'backoffice/account-codes/v1', 32))]),
  );
  const hmac = (key: Buffer, scope: string, code: string) => createHmac('sha256', key).update(`${scope}\0${code}`).digest();
  const current = hmacKeys.get(keyring.currentKeyId)!;
  const codeHash = (scope: string, code: string) => hmac(current, scope, code);
  const backupScope = (accountId: string) => `backup:${accountId}`;
  return {
    codeHash,
    codeMatches: (stored, scope, code) => !!stored && timingSafeEqual(stored, codeHash(scope, code)),
    backupCodeHash: (accountId, code) => ({ keyId: keyring.currentKeyId, hash: hmac(current, backupScope(accountId), code) }),
    backupCodeCandidates(accountId, code, keyIds) {
      const ids = new Set(keyIds.flatMap((id) => (id === null ? [...hmacKeys.keys()] : [id])));
      return [...ids].flatMap((id) => {
        const key = hmacKeys.get(id);
        return key ? [hmac(key, backupScope(accountId), code)] : [];
      });
    },
    // A wrapped key per secret (as for identity documents), so key rotation keeps old secrets readable.
    sealTotp(accountId, secret) {
      const { dataKey, wrapped } = newCaseKey(keyring);
      const sealed = sealDocument(dataKey, secret, `${accountId}:totp`);
      return Buffer.concat([Buffer.from([wrapped.length]), wrapped, sealed]);
    },
    openTotp(accountId, sealed) {
      const n = sealed[0]!;
      const dataKey = unwrapCaseKey(keyring, sealed.subarray(1, 1 + n));
      return openDocument(dataKey, sealed.subarray(1 + n), `${accountId}:totp`);
    },
  };
}

/** Link tokens and access tokens: 256 random bits, stored as SHA-256 (unguessable, so no key needed). */
export const newToken = (prefix = '') => prefix + randomBytes(32).toString('base64url');
export const tokenHash = (token: string) => createHash('sha256').update(token).digest();
