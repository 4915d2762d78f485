/**
 * P2: identity documents are sealed with a random key per case, stored wrapped next to the case, so
 * erasing that one wrapped key when the documents are purged leaves any stray sealed row unreadable.
 *
 * Wrapping uses a key derived with HKDF from each payload key, never the payload key itself, so a
 * Temporal payload and a document can never be decrypted with the same key. The wrapped key names its
 * master key id, so payload-key rotation keeps old cases readable while the old key stays in the keyring.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Keyring } from '../temporal/codec';

const KEK_INFO = 'backoffice/verification-documents/v1';
const WRAP_VERSION = 1;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyEncryptionKey(keyring: Keyring, keyId: string): Buffer {
  const master = keyring.keys.get(keyId);
  if (!master) throw new Error(`no payload key with id "${keyId}" to unwrap this case key: keep it in PAYLOAD_DECRYPTION_KEYS`);
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), KEK_INFO, KEY_BYTES));
}

/** A fresh data key for a new case, and its wrapped form to store: version | id length | id | iv | ciphertext | tag. */
export function newCaseKey(keyring: Keyring): { dataKey: Buffer; wrapped: Buffer } {
  const keyId = Buffer.from(keyring.currentKeyId, 'utf8');
  if (keyId.length === 0 || keyId.length > 255) throw new Error(`payload key id "${keyring.currentKeyId}" must be 1 to 255 bytes`);
  const header = Buffer.concat([Buffer.from([WRAP_VERSION, keyId.length]), keyId]);
  const dataKey = randomBytes(KEY_BYTES);
  // The header is authenticated too, so a wrapped key cannot be relabelled.
  return { dataKey, wrapped: Buffer.concat([header, seal(keyEncryptionKey(keyring, keyring.currentKeyId), dataKey, header)]) };
}

export function unwrapCaseKey(keyring: Keyring, wrapped: Buffer): Buffer {
  const version = wrapped[0];
  const idLength = wrapped[1];
  if (version !== WRAP_VERSION || idLength === undefined) throw new Error(`wrapped case key has unknown format version ${version ?? 'none'}`);
  const headerLength = 2 + idLength;
  if (wrapped.length !== headerLength + IV_BYTES + KEY_BYTES + TAG_BYTES) throw new Error('wrapped case key is truncated or corrupt');
  const keyId = wrapped.toString('utf8', 2, headerLength);
  const kek = keyEncryptionKey(keyring, keyId);
  try {
    return open(kek, wrapped.subarray(headerLength), wrapped.subarray(0, headerLength));
  } catch {
    throw new Error(`wrapped case key does not authenticate under payload key "${keyId}": it was altered or belongs to another keyring`);
  }
}

/** iv | ciphertext | tag. The AAD names the case and document, so a sealed row cannot be moved to another. */
export function sealDocument(dataKey: Buffer, plain: Buffer, aad: string): Buffer {
  return seal(dataKey, plain, Buffer.from(aad, 'utf8'));
}

export function openDocument(dataKey: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('sealed document is truncated');
  try {
    return open(dataKey, sealed, Buffer.from(aad, 'utf8'));
  } catch {
    throw new Error('sealed document does not authenticate: wrong case key, wrong case/document, or altered bytes');
  }
}

/**
 * A phone number or a position (issue 14, item 6), as JSON under the case key. The AAD names the
 * case and the row, and differs from a document's, so neither can stand in for the other.
 */
export function sealEvidence(dataKey: Buffer, value: unknown, caseId: string, id: string): Buffer {
  return sealDocument(dataKey, Buffer.from(JSON.stringify(value), 'utf8'), `${caseId}:evidence:${id}`);
}

export function openEvidence(dataKey: Buffer, sealed: Buffer, caseId: string, id: string): unknown {
  return JSON.parse(openDocument(dataKey, sealed, `${caseId}:evidence:${id}`).toString('utf8'));
}

function seal(key: Buffer, plain: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES }).setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}
