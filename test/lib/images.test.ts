import { strict as assert } from 'node:assert';
import { crc32 } from 'node:zlib';
import { MAX_IMAGE_BYTES, decodeBase64Image, sniffImage } from '../../lib/images';

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** Signature and a 1x1 8-bit grey IHDR: the header of a real PNG. */
function pngHeader(): Buffer {
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)]);
}

/** SOI and the start of a JFIF APP0 segment, with no end-of-image marker. */
const jpegHeader = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x80\x00\x00', 'latin1');
const text = Buffer.from('Name: Alice\nPassport: X1234567\n', 'utf8');

describe('image sniffing and decoding', () => {
  describe('sniffImage', () => {
    it('recognises JPEG and PNG by their bytes', () => {
      assert.equal(sniffImage(jpegHeader), 'image/jpeg');
      assert.equal(sniffImage(pngHeader()), 'image/png');
    });

    it('rejects GIF, text, empty input, and a PNG signature without an IHDR chunk', () => {
      assert.equal(sniffImage(gif), undefined);
      assert.equal(sniffImage(text), undefined);
      assert.equal(sniffImage(Buffer.alloc(0)), undefined);
      assert.equal(sniffImage(Buffer.from([0xff, 0xd8])), undefined);
      const png = pngHeader();
      assert.equal(sniffImage(png.subarray(0, 8)), undefined, 'signature only');
      assert.equal(sniffImage(Buffer.concat([png.subarray(0, 8), chunk('IDAT', Buffer.alloc(13))])), undefined, 'first chunk is not IHDR');
      assert.equal(sniffImage(png.subarray(0, png.length - 1)), undefined, 'IHDR cut short');
    });
  });

  describe('decodeBase64Image', () => {
    it('decodes base64 and names the type found in the bytes', () => {
      const result = decodeBase64Image(pngHeader().toString('base64'));
      assert.ok(result.ok);
      assert.equal(result.mediaType, 'image/png');
      assert.deepEqual(result.bytes, pngHeader());
    });

    it('strips a data URL prefix but ignores the type it claims', () => {
      const result = decodeBase64Image(`data:image/png;base64,${jpegHeader.toString('base64')}`);
      assert.ok(result.ok);
      assert.equal(result.mediaType, 'image/jpeg');
      assert.deepEqual(result.bytes, jpegHeader);
    });

    it('rejects a GIF and a text file, even when labelled as an image', () => {
      assert.deepEqual(decodeBase64Image(gif.toString('base64')), { ok: false, reason: 'not_jpeg_or_png' });
      assert.deepEqual(decodeBase64Image(`data:image/jpeg;base64,${text.toString('base64')}`), { ok: false, reason: 'not_jpeg_or_png' });
    });

    it('rejects anything that is not strict, padded standard base64', () => {
      // 13 bytes, so the encoding ends in "==".
      const valid = Buffer.concat([jpegHeader, Buffer.from([0xfb])]).toString('base64');
      assert.ok(decodeBase64Image(valid).ok && valid.endsWith('=='));
      for (const input of [
        `${valid.slice(0, 4)}*${valid.slice(5)}`,
        `${valid.slice(0, 8)}\n${valid.slice(8)}`,
        valid.replaceAll('+', '-').replaceAll('/', '_').replace(/.$/, '-'),
        valid.replace(/=+$/, ''),
        `${valid}=`,
        '/9j/4A==QUFB',
        'QR==',
        `data:text/plain;base64,${valid}`,
        'data:image/png;base64,,',
      ]) {
        assert.deepEqual(decodeBase64Image(input), { ok: false, reason: 'not_base64' }, JSON.stringify(input));
      }
    });

    it('rejects empty input', () => {
      assert.deepEqual(decodeBase64Image(''), { ok: false, reason: 'empty' });
      assert.deepEqual(decodeBase64Image('data:image/jpeg;base64,'), { ok: false, reason: 'empty' });
    });

    it('accepts exactly 10 MiB and rejects 10 MiB + 1 byte', () => {
      const image = Buffer.alloc(MAX_IMAGE_BYTES + 1);
      jpegHeader.copy(image);
      const atLimit = decodeBase64Image(image.subarray(0, MAX_IMAGE_BYTES).toString('base64'));
      assert.ok(atLimit.ok);
      assert.equal(atLimit.bytes.length, MAX_IMAGE_BYTES);
      assert.deepEqual(decodeBase64Image(image.toString('base64')), { ok: false, reason: 'too_large' });
    });
  });
});
