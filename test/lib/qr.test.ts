import { strict as assert } from 'node:assert';
import { qrPng } from '../../lib/qr';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('QR code PNG', () => {
  it('renders a 320 px PNG', async () => {
    const png = await qrPng('https://backoffice.example/v1/verification/abc123');
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));
    assert.equal(png.toString('latin1', 12, 16), 'IHDR');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [320, 320]);
    assert.ok(png.length > 500 && png.length < 50_000, `${png.length} bytes`);
  });

  it('gives different texts different images, and the same text the same image', async () => {
    const a = await qrPng('https://backoffice.example/v1/verification/token-a');
    const b = await qrPng('https://backoffice.example/v1/verification/token-b');
    assert.ok(!a.equals(b));
    assert.ok(a.equals(await qrPng('https://backoffice.example/v1/verification/token-a')));
  });
});
