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
  sealTotp(accountId: string, secret: Buffer): Buffer;
  openTotp(accountId: string, sealed: Buffer): Buffer;
}

export function accountSecrets(keyring: Keyring): AccountSecrets {
  const master = keyring.keys.get(keyring.currentKeyId)!;
  const hmacKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'backoffice/account-codes/v1', 32));
  const codeHash = (scope: string, code: string) => createHmac('sha256', hmacKey).update(`${scope}\0${code}`).digest();
  return {
    codeHash,
    codeMatches: (stored, scope, code) => !!stored && timingSafeEqual(stored, codeHash(scope, code)),
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
