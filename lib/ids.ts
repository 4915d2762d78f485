import { createHash } from 'node:crypto';

/**
 * A UUID that is the same for the same text (SHA-256, shaped as a version-8 UUID): a request
 * repeated with the same idempotency key finds the same payment and the same process, and the
 * text (which may hold a client's key) cannot be read back from it.
 */
export function stableUuid(text: string): string {
  const h = createHash('sha256').update(text).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
