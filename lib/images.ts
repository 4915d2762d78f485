/**
 * Photos of identity documents arrive as base64 from the customer's phone (P2). What they are is
 * decided by their bytes alone: a file name or a claimed media type is the sender's word, and these
 * images are later served to agents with the media type recorded here.
 */

export type ImageType = 'image/jpeg' | 'image/png';

/** P2 issue limit: one document photo may be at most 10 MiB. */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// Signature, then IHDR: length (13), type, 13 bytes of data, CRC.
const PNG_HEADER_BYTES = 8 + 4 + 4 + 13 + 4;

export function sniffImage(bytes: Buffer): ImageType | undefined {
  // SOI followed by the first marker; JPEGs cut short still start like this, which is enough to route them.
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (
    bytes.length >= PNG_HEADER_BYTES &&
    bytes.subarray(0, 8).equals(PNG_SIGNATURE) &&
    bytes.readUInt32BE(8) === 13 &&
    bytes.toString('latin1', 12, 16) === 'IHDR'
  ) {
    return 'image/png';
  }
  return undefined;
}

export type DecodedImage = { ok: true; bytes: Buffer; mediaType: ImageType } | { ok: false; reason: 'not_base64' | 'empty' | 'too_large' | 'not_jpeg_or_png' };

const DATA_URL_PREFIX = /^data:image\/[a-z0-9.+-]+;base64,/i;

/**
 * Strict, padded standard base64 (an optional `data:image/...;base64,` prefix is dropped). Node's own
 * decoder skips characters it does not know, so the input is checked before it is decoded.
 */
export function decodeBase64Image(b64: string): DecodedImage {
  const text = b64.trim().replace(DATA_URL_PREFIX, '');
  if (text.length === 0) return { ok: false, reason: 'empty' };
  if (text.length % 4 !== 0) return { ok: false, reason: 'not_base64' };
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (/[^A-Za-z0-9+/]/.test(text.slice(0, text.length - padding))) return { ok: false, reason: 'not_base64' };

  // The decoded size follows from the length, so an oversized upload is refused without decoding it.
  if ((text.length / 4) * 3 - padding > MAX_IMAGE_BYTES) return { ok: false, reason: 'too_large' };
  const bytes = Buffer.from(text, 'base64');
  // Re-encoding catches non-zero padding bits ("QR=="), the one malformation left after the checks above.
  if (bytes.toString('base64') !== text) return { ok: false, reason: 'not_base64' };
  if (bytes.length > MAX_IMAGE_BYTES) return { ok: false, reason: 'too_large' };

  const mediaType = sniffImage(bytes);
  if (!mediaType) return { ok: false, reason: 'not_jpeg_or_png' };
  return { ok: true, bytes, mediaType };
}
