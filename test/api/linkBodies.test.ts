/**
 * Issue 14, item 9: the 28 MB identity-image bodies are read only once the link in the path is
 * known to open a case awaiting the customer. A bad link is refused while the body is still on its
 * way: the answer comes back although the client has sent a sliver of what it announced.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { apiSuite } from '../support/api';
import { openCase, passPhoneAndPosition, testImage } from '../support/verification';

const ANNOUNCED = 27 * 1024 * 1024;

/** Announces a body of ANNOUNCED bytes, sends its first 64 KB, and waits for an answer without sending more. */
function sendPartOfALargeBody(base: string, path: string): Promise<{ status: number; contentType: string; body: any; sentBytes: number }> {
  return new Promise((resolve, reject) => {
    const first = Buffer.from(`{"type":"id_card","images":["${'A'.repeat(64 * 1024)}`);
    const req = http.request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(ANNOUNCED) } });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer while the body was incomplete: the server waited for the body'));
    }, 10_000);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({
          status: res.statusCode!,
          contentType: String(res.headers['content-type']),
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          sentBytes: first.length,
        });
      });
    });
    // The server may close its side once it answered; the unsent rest is the point.
    req.on('error', () => undefined);
    req.write(first);
  });
}

describe('large link bodies are read only after the link is checked (issue 14, item 9)', function () {
  this.timeout(120_000);
  const suite = apiSuite();

  for (const step of ['document', 'selfie'] as const) {
    it(`refuses an unknown link on /${step} before reading the body, with the same 404 as before`, async () => {
      const token = randomBytes(32).toString('base64url');
      const res = await sendPartOfALargeBody(suite.api.base, `/v1/verification/${token}/${step}`);
      assert.equal(res.status, 404);
      assert.match(res.contentType, /^application\/problem\+json/);
      assert.equal(res.body.type, '/problems/verification-link-invalid');
      assert.ok(res.sentBytes < ANNOUNCED / 100);
    });
  }

  it('refuses a malformed link on /document before reading the body, with the usual 400', async () => {
    const res = await sendPartOfALargeBody(suite.api.base, '/v1/verification/not-a-token/document');
    assert.equal(res.status, 400);
    assert.equal(res.body.type, '/problems/validation-failed');
    assert.deepEqual(
      res.body.errors.map((e: { pointer: string }) => e.pointer),
      ['/token'],
    );
  });

  it('refuses a link whose case is no longer awaiting the customer before reading the body', async () => {
    const { api, seed, tokens } = suite;
    const { caseId, token } = await openCase(api, seed.legalRep.id);
    const manual = await api.call('POST', `/v1/verification-cases/${caseId}/manual-verification`, {
      token: tokens.agent,
      body: { decision: 'reject', reason: 'closed for the test' },
    });
    assert.equal(manual.status, 200, manual.text);
    const res = await sendPartOfALargeBody(api.base, `/v1/verification/${token}/document`);
    assert.equal(res.status, 404);
    assert.equal(res.body.type, '/problems/verification-link-invalid');
  });

  it('still reads a large body for a valid link', async () => {
    const { api, seed } = suite;
    const { token } = await openCase(api, seed.legalRep.id);
    await passPhoneAndPosition(api, token);
    // A real PNG followed by padding: several MB, above the routers' 100 kB default.
    const padded = Buffer.concat([Buffer.from(await testImage('large'), 'base64'), Buffer.alloc(3 * 1024 * 1024)]).toString('base64');
    const res = await api.call('POST', `/v1/verification/${token}/document`, { body: { type: 'passport', images: [padded] } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.step, 'selfie');
  });
});
