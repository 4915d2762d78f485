/**
 * One-time codes: TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits, what authenticator apps
 * expect), 2FA backup codes, and the 6-digit codes sent by SMS or email. node:crypto only.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

const STEP_SECONDS = 30;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The code of one time step (RFC 4226 dynamic truncation). */
export function hotp(secret: Buffer, counter: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(bin).padStart(6, '0');
}

export const totpAt = (secret: Buffer, atMs: number) => hotp(secret, Math.floor(atMs / 1000 / STEP_SECONDS));

/**
 * The time step a code belongs to: the current one or one on either side (clock drift), every one
 * compared in constant time; null when none matches. The caller accepts a step once (RFC 6238
 * section 5.2): it records the last step it accepted and refuses that one and earlier ones.
 */
export function totpStep(secret: Buffer, code: string, atMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const now = Math.floor(atMs / 1000 / STEP_SECONDS);
  let matched: number | null = null;
  for (const s of [now - 1, now, now + 1]) if (timingSafeEqual(Buffer.from(hotp(secret, s)), Buffer.from(code))) matched ??= s;
  return matched;
}

export const otpauthUrl = (secret: Buffer, label: string) =>
  `otpauth://totp/backoffice:${encodeURIComponent(label)}?secret=${base32Encode(secret)}&issuer=backoffice&algorithm=SHA1&digits=6&period=${STEP_SECONDS}`;

/** Backup codes: 10 digits shown as `12345-67890` (33 bits each; single use, and logins are rate-limited). */
export const newBackupCode = () => `${String(randomInt(0, 100_000)).padStart(5, '0')}-${String(randomInt(0, 100_000)).padStart(5, '0')}`;
export const BACKUP_CODE_SHAPE = /^\d{5}-?\d{5}$/;
export const normalizeBackupCode = (code: string) => code.replace('-', '');

/** A 6-digit code for SMS or email. */
export const newSixDigitCode = () => String(randomInt(0, 1_000_000)).padStart(6, '0');

export function base32Decode(text: string): Buffer {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const i = BASE32.indexOf(ch);
    if (i < 0) throw new Error('not base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
