// TOTP through otpauth (issue 19, item 7): RFC 6238's SHA-1 vector, the drift window, and secrets
// in the stored form (raw bytes, shown as base32) round-trip, so enrolled authenticators keep working.
import assert from 'node:assert/strict';
import { base32Decode, base32Encode, otpauthUrl, totpAt, totpStep } from '../../lib/otp';

describe('TOTP', () => {
  const rfcSecret = Buffer.from('12345678901234567890');
  it("gives RFC 6238's codes (its 8-digit values, last 6 digits)", () => {
    assert.equal(totpAt(rfcSecret, 59_000), '287082');
    assert.equal(totpAt(rfcSecret, 1_111_111_109_000), '081804');
    assert.equal(totpAt(rfcSecret, 2_000_000_000_000), '279037');
  });
  it('accepts the current step and one on either side, and says which', () => {
    const at = 1_700_000_000_000;
    const step = Math.floor(at / 30_000);
    assert.equal(totpStep(rfcSecret, totpAt(rfcSecret, at), at), step);
    assert.equal(totpStep(rfcSecret, totpAt(rfcSecret, at - 30_000), at), step - 1);
    assert.equal(totpStep(rfcSecret, totpAt(rfcSecret, at + 30_000), at), step + 1);
    assert.equal(totpStep(rfcSecret, totpAt(rfcSecret, at - 90_000), at), null);
    assert.equal(totpStep(rfcSecret, 'abcdef', at), null);
  });
  it('round-trips secrets through base32 and puts them in the otpauth URL', () => {
    assert.equal(base32Encode(rfcSecret), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    assert.deepEqual(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), rfcSecret);
    assert.match(otpauthUrl(rfcSecret, 'alice@example.test'), /^otpauth:\/\/totp\/backoffice:alice%40example\.test\?.*secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ/);
  });
});
