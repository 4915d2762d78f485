import { strict as assert } from 'node:assert';
import { randomInt, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { issueBearerToken } from '../../api/services/bearerTokens';
import { loadConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { qrPng } from '../../lib/qr';
import { startStack, type Stack } from '../../scripts/stack';
import { runtimeLog } from '../setup';
import { embeddedStackSettings, seedOrganization, tempDir, workflowBundle } from '../support/fixtures';

// A full case on what `npm start` runs (dev server on SQLite, embedded PostgreSQL), then a search of
// Temporal's database file and of every log line for what the customer sent.
describe('privacy of a verification case (npm start stack)', function () {
  this.timeout(240_000);
  let stack: Stack | undefined;
  let dataDir: string;
  const logLines: string[] = [];
  const capture: Logger = {
    debug: (msg, f) => void logLines.push(JSON.stringify({ msg, ...f })),
    info: (msg, f) => void logLines.push(JSON.stringify({ msg, ...f })),
    warn: (msg, f) => void logLines.push(JSON.stringify({ msg, ...f })),
    error: (msg, f) => void logLines.push(JSON.stringify({ msg, ...f })),
  };

  before(async function () {
    this.timeout(300_000);
    dataDir = tempDir('privacy');
    const config = loadConfig({
      ...(await embeddedStackSettings(dataDir)),
      LOG_LEVEL: 'debug',
      VERIFICATION_BUSINESS_HOURS: 'Mon-Sun 00:00-24:00',
    });
    stack = await startStack({ config, log: capture, roles: { api: true, worker: true }, workflowBundle: await workflowBundle() });
  });
  after(async () => stack?.stop());

  it('keeps the phone number, the code and the image bytes out of Temporal’s database and the logs', async () => {
    const s = stack!;
    const base = s.urls['API']!;
    const call = async (method: string, p: string, body?: unknown, token?: string) => {
      const res = await fetch(base + p, {
        method,
        headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const json = (await res.json()) as any;
      assert.ok(res.status < 300, `${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const seed = await seedOrganization(s.db);
    const phone = `+4178${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
    await s.db.updateTable('accounts').set({ mobile_phone: phone }).where('id', '=', seed.legalRep.id).execute();
    const { token: system } = await issueBearerToken({ db: s.db, authSecret: s.authSecret }, { role: 'system', sub: 'privacy-test' }, 3_600_000);
    const { token: agent } = await issueBearerToken({ db: s.db, authSecret: s.authSecret }, { role: 'agent', sub: seed.agent.id }, 3_600_000);

    const opened = await call('POST', '/v1/verification-cases', { accountId: seed.legalRep.id, reason: 'forgotten_password' }, system);
    const mail = await s.smtp!.waitFor((m) => m.to.includes(seed.legalRep.login_email));
    const token = /\/verify\/([A-Za-z0-9_-]{43})/.exec(mail.text)![1]!;
    await call('POST', `/v1/verification/${token}/phone`, { phone });
    const sms = await s.smsSink!.waitFor((m) => m.to === phone);
    const code = /(\d{6})/.exec(sms.body)![1]!;
    await call('POST', `/v1/verification/${token}/phone/confirm`, { code });
    await call('POST', `/v1/verification/${token}/geolocation`, { latitude: 46.948, longitude: 7.447, accuracyMeters: 8 });
    const images = await Promise.all(['front', 'back', 'selfie'].map((side) => qrPng(`${side} ${randomUUID()}`)));
    await call('POST', `/v1/verification/${token}/document`, { type: 'id_card', images: images.slice(0, 2).map((i) => i.toString('base64')) });
    await call('POST', `/v1/verification/${token}/selfie`, { image: images[2]!.toString('base64') });
    await call('POST', `/v1/verification-cases/${opened.id}/claim`, undefined, agent);
    const decided = await call('POST', `/v1/verification-cases/${opened.id}/decision`, { decision: 'approve', reason: 'matches' }, agent);
    assert.equal(decided.status, 'approved');
    assert.equal(
      await s.client.workflow
        .getHandle(`verification:${opened.id}`)
        .result()
        .then((r) => r.outcome),
      'approved',
    );

    const secrets: [string, Buffer][] = [
      ['phone number', Buffer.from(phone)],
      ['phone number without +', Buffer.from(phone.slice(1))],
      ['SMS code', Buffer.from(`is ${code}`)],
      ['login email', Buffer.from(seed.legalRep.login_email)],
      ...images.flatMap((img, i): [string, Buffer][] => [
        [`image ${i} bytes`, img.subarray(img.length / 2, img.length / 2 + 48)],
        [`image ${i} base64`, Buffer.from(img.toString('base64').slice(200, 264))],
      ]),
    ];
    // SQLite's journal files come and go: one listed may be gone when read (its content is in the main file then).
    const read = (f: string) => {
      try {
        return readFileSync(path.join(dataDir, f));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
        throw err;
      }
    };
    const files = readdirSync(dataDir).filter((f) => f.startsWith('temporal.sqlite'));
    assert.ok(files.length > 0, 'the dev server keeps its history on disk');
    // Control: the search does see what is in clear (the workflow ID is a random case id).
    assert.ok(
      files.some((f) => read(f).includes(Buffer.from(`verification:${opened.id}`))),
      'the case is in the file',
    );
    for (const f of files) {
      const bytes = read(f);
      for (const [what, needle] of secrets) assert.ok(!bytes.includes(needle), `${f} holds the ${what} in plain text`);
    }
    const logs = Buffer.from([...logLines, ...runtimeLog.map((e) => `${e.message} ${JSON.stringify(e.meta ?? {})}`)].join('\n'));
    assert.ok(logLines.length > 10, 'the API and worker logged requests');
    for (const [what, needle] of secrets) assert.ok(!logs.includes(needle), `the logs hold the ${what}`);
  });
});
