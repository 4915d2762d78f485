/**
 * Encrypts every payload (inputs, results, signals, updates, queries, failures' details) before it
 * reaches the Temporal server, so emails, phone numbers and names never sit in plain text in history.
 * AES-256-GCM with a random 96-bit IV; the key id travels in metadata so keys can be rotated.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Keyring {
  currentKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

export function createKeyring(current: { id: string; key: Buffer }, older: Record<string, Buffer> = {}): Keyring {
  for (const [id, key] of [[current.id, current.key] as const, ...Object.entries(older)]) {
    if (key.length !== 32) throw new ValueError(`payload key ${id} must be 32 bytes`);
  }
  return { currentKeyId: current.id, keys: new Map([...Object.entries(older), [current.id, current.key]]) };
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: Keyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.keyring.currentKeyId;
    const key = this.keyring.keys.get(keyId)!;
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: utf8.encode(ENCODING), [KEY_ID]: utf8.encode(keyId) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || fromUtf8.decode(encoding) !== ENCODING) return payload;
      const rawKeyId = payload.metadata?.[KEY_ID];
      const keyId = rawKeyId ? fromUtf8.decode(rawKeyId) : '';
      const key = this.keyring.keys.get(keyId);
      if (!key) throw new ValueError(`no payload key with id "${keyId}": set PAYLOAD_DECRYPTION_KEYS`);
      const sealed = Buffer.from(payload.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
