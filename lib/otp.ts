/**
 * One-time codes: TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits, what authenticator apps
 * expect) through the kept library `otpauth` (issue 19, item 7), 2FA backup codes, and the 6-digit
 * codes sent by SMS or email. Stored secrets are the raw bytes the library takes as they are, so
 * every secret enrolled before the switch stays valid (test/lib/otp.test.ts checks RFC 6238's vector).
 */
import { randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

const STEP_SECONDS = 30;

const totp = (secret: Buffer, label = '') =>
  new TOTP({ issuer: 'backoffice', label, secret: new Secret({ buffer: new Uint8Array(secret).buffer }), algorithm: 'SHA1', digits: 6, period: STEP_SECONDS });

export const base32Encode = (bytes: Buffer): string => new Secret({ buffer: new Uint8Array(bytes).buffer }).base32.replace(/=+$/, '');
export const base32Decode = (text: string): Buffer => Buffer.from(Secret.fromBase32(text.replace(/=+$/, '').toUpperCase()).bytes);

export const totpAt = (secret: Buffer, atMs: number) => totp(secret).generate({ timestamp: atMs });

/**
 * The time step a code belongs to: the current one or one on either side (clock drift); null when
 * none matches. The caller accepts a step once (RFC 6238 section 5.2): it records the last step it
 * accepted and refuses that one and earlier ones.
 */
export function totpStep(secret: Buffer, code: string, atMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp(secret).validate({ token: code, timestamp: atMs, window: 1 });
  return delta === null ? null : Math.floor(atMs / 1000 / STEP_SECONDS) + delta;
}

export const otpauthUrl = (secret: Buffer, label: string) => totp(secret, label).toString();

/** Backup codes: 10 digits shown as `12345-67890` (33 bits each; single use, and logins are rate-limited). */
export const newBackupCode = () => `${String(randomInt(0, 100_000)).padStart(5, '0')}-${String(randomInt(0, 100_000)).padStart(5, '0')}`;
export const BACKUP_CODE_SHAPE = /^\d{5}-?\d{5}$/;
export const normalizeBackupCode = (code: string) => code.replace('-', '');

/** A 6-digit code for SMS or email. */
export const newSixDigitCode = () => String(randomInt(0, 1_000_000)).padStart(6, '0');
