/**
 * `npm run chaos [-- --duration 3m --kill-every 5-15 --min-kills 20 --pg-outage 10s --temporal-outage 10s]`
 *
 * Faults survived, measured (issue 15). The production topology on one machine: this process runs
 * the Temporal dev server, PostgreSQL, the SMTP capture and the SMS sink; the API and two workers
 * run as separate OS processes (`scripts/api.ts`, `scripts/worker.ts`), as a deployment would. A
 * mixed workload goes through the API only while workers are killed with SIGKILL and restarted,
 * PostgreSQL is stopped once and the Temporal server is stopped once and restarted on its data.
 * When it settles, every side effect is counted where it landed (the payment provider's ledger,
 * the SMTP capture by Message-ID, the SMS sink) against what the books expected, every process the
 * run started is described by Temporal and compared with the state its last API action implies, and
 * no process may be left retrying a failing task. Exit 1 on any loss, any money moved twice, any
 * 500, any request left without an answer past the API's deadline, any process in another state
 * than expected or stuck, or more duplicated messages than crashes injected.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { sql } from 'kysely';
import { issueBearerToken } from '../api/services/bearerTokens';
import { createDb, migrateToLatest } from '../db/connection';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../db/embedded';
import { reconcile } from '../db/repositories/payments';
import { tokenHash } from '../lib/accountSecrets';
import { hashPassword } from '../lib/passwords';
import { startSmsSink } from '../lib/dev/smsSink';
import { startSmtpCapture } from '../lib/dev/smtpCapture';
import { createKeyring } from '../temporal/codec';
import { createDataConverter } from '../temporal/dataConverter';
import { bundleWorkflows } from '../temporal/worker';
import { startDevServer } from '../temporal/servers';
import { freePort, seedOrganization } from '../test/support/fixtures';
import { insertProduct, insertRenewableProduct } from '../test/support/orders';
import { cancellationWorkflowId } from '../workflows/shared/cancellation';
import { invitationWorkflowId } from '../workflows/shared/invitation';
import { orderBlockWorkflowId } from '../workflows/shared/orders';
import { paymentWorkflowId } from '../workflows/shared/payment';
import { accountNoticeWorkflowId, passwordRecoveryWorkflowId, recoveryLoginWorkflowId } from '../workflows/shared/recovery';
import { supportAccessWorkflowId } from '../workflows/shared/supportAccess';
import { verificationWorkflowId } from '../workflows/shared/verification';

/** The API's deadline (api/requestDeadline.ts) in this run; a client waits a little longer for the 503 it promises. */
const API_REQUEST_TIMEOUT_MS = 15_000;
const ANSWER_WITHIN_MS = API_REQUEST_TIMEOUT_MS + 5_000;
/** A pending activity this often tried, still failing, once everything settled, is a process stuck. */
const STUCK_ACTIVITY_ATTEMPTS = 5;

type Args = {
  durationMs: number;
  killEveryMs: [number, number];
  minKills: number;
  pgOutageMs: number;
  temporalOutageMs: number;
  concurrency: number;
  keep: boolean;
};

function parseMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new Error(`not a duration: ${v} (e.g. 45s, 3m)`);
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 'ms' ? 1 : 1_000);
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    durationMs: 180_000,
    killEveryMs: [5_000, 15_000],
    minKills: 20,
    pgOutageMs: 10_000,
    temporalOutageMs: 10_000,
    concurrency: 4,
    keep: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i] ?? '';
    if (flag === '--duration') args.durationMs = parseMs(value());
    else if (flag === '--kill-every') {
      const [a, b = a] = value().split('-');
      args.killEveryMs = [parseMs(a!), parseMs(b!)];
    } else if (flag === '--min-kills') args.minKills = Number(value());
    else if (flag === '--pg-outage') args.pgOutageMs = parseMs(value());
    else if (flag === '--temporal-outage') args.temporalOutageMs = parseMs(value());
    else if (flag === '--concurrency') args.concurrency = Number(value());
    else if (flag === '--keep') args.keep = true;
    else throw new Error(`unknown option ${flag}`);
  }
  return args;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main() {
  const args = parseArgs(process.argv.slice(2));
  process.env.TEMPORAL_PROVISION_NO_DOWNLOAD ??= '1';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'backoffice-chaos-'));
  const [temporalPort, pgPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const cleanups: (() => Promise<unknown>)[] = [];
  const children = new Set<ChildProcess>();
  let exitCode = 1;
  try {
    log(`data in ${dir}; duration ${args.durationMs / 1000}s, a worker killed every ${args.killEveryMs.map((m) => m / 1000).join('–')}s`);
    let temporal: TestWorkflowEnvironment = await startDevServer({ port: temporalPort, dbFilename: path.join(dir, 'temporal.sqlite') });
    cleanups.push(() => temporal.teardown());
    let pg: EmbeddedPostgresHandle = await startEmbeddedPostgres({ dataDir: path.join(dir, 'postgres'), port: pgPort });
    cleanups.push(() => pg.stop());
    const db = createDb(pg.url, { onError: () => undefined });
    cleanups.push(() => db.destroy());
    await migrateToLatest(db);
    const smtp = await startSmtpCapture({});
    cleanups.push(() => smtp.close());
    const smsSink = await startSmsSink({});
    cleanups.push(() => smsSink.close());
    const bundlePath = path.join(dir, 'workflow-bundle.js');
    writeFileSync(bundlePath, (await bundleWorkflows()).code);

    const authSecret = `chaos-${randomUUID()}-secret-of-32-chars`;
    const payloadKey = Buffer.alloc(32, 9);
    const env = {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      DATA_DIR: dir,
      PORT: String(apiPort),
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      DATABASE_URL: pg.url,
      SMTP_URL: smtp.url,
      TWILIO_ACCOUNT_SID: smsSink.accountSid,
      TWILIO_AUTH_TOKEN: smsSink.authToken,
      TWILIO_FROM: '+15005550006',
      TWILIO_API_URL: smsSink.url,
      AUTH_SECRET: authSecret,
      PAYLOAD_ENCRYPTION_KEY: payloadKey.toString('base64'),
      API_REQUEST_TIMEOUT_MS: String(API_REQUEST_TIMEOUT_MS),
      WORKFLOW_BUNDLE_PATH: bundlePath,
      RATE_LIMIT_PER_MINUTE: '100000',
      // Two workers on one machine: their metrics listeners would take the same port.
      WORKER_METRICS_PORT: '0',
    };
    const tsx = require.resolve('tsx/cli');
    const startRole = (role: 'api' | 'worker', name: string): ChildProcess => {
      const out = createWriteStream(path.join(dir, `${name}.log`), { flags: 'a' });
      const child = spawn(process.execPath, [tsx, path.join(__dirname, `${role}.ts`)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    };
    cleanups.push(async () => {
      for (const c of children) c.kill('SIGKILL');
    });

    startRole('api', 'api');
    const workers: ChildProcess[] = [startRole('worker', 'worker-0'), startRole('worker', 'worker-1')];
    const base = `http://127.0.0.1:${apiPort}`;
    for (let t = Date.now(); ; await sleep(250)) {
      const ok = await fetch(`${base}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() - t > 120_000) throw new Error(`the API did not become healthy; see ${dir}/api.log`);
    }
    // The workers' key: descriptions, queries and results are read in clear.
    const dataConverter = createDataConverter(createKeyring({ id: 'k1', key: payloadKey }));
    const client = new Client({ connection: await Connection.connect({ address: `127.0.0.1:${temporalPort}` }), dataConverter });
    cleanups.push(() => client.connection.close());
    log('API healthy, workers starting');

    // People and products, as the shop and the Manager would have made them.
    const orgs = await Promise.all([0, 1, 2].map(() => seedOrganization(db)));
    const people = await Promise.all(
      orgs.map(async (seed) => {
        const token = async (sub: string) => (await issueBearerToken({ db, authSecret }, { role: 'customer', sub }, 2 * 3_600_000)).token;
        return { seed, admin: await token(seed.admin.id), rep: await token(seed.legalRep.id) };
      }),
    );

    const systemToken = (await issueBearerToken({ db, authSecret }, { role: 'system', sub: 'chaos-checkout' }, 2 * 3_600_000)).token;
    const orders = { rejected: [] as string[], approved: [] as string[] };

    // Every request through the API; a well-behaved client retries 503s after Retry-After. `from` is
    // a loopback address of the client's own: recovery is limited per client address, and each
    // holder in this run is another person.
    const stats = {
      noAnswer: new Map<string, number>(),
      harnessErrors: 0,
      requests: 0,
      byStatus: new Map<number, number>(),
      fiveHundreds: 0,
      timeouts: 0,
      unavailable: 0,
      unavailableWithoutRetryAfter: 0,
    };
    const send = (method: string, url: string, headers: Record<string, string>, body: string | undefined, from: string | undefined) =>
      new Promise<{ status: number; retryAfter: string | undefined; text: string }>((resolve, reject) => {
        const req = http.request(
          base + url,
          {
            method,
            headers: body ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers,
            localAddress: from,
            signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    /** `retried`: an earlier attempt got 503, so a 404 or 409 may mean that attempt went through. */
    async function call(method: string, url: string, token: string | null, body?: unknown, headers: Record<string, string> = {}, from?: string) {
      for (let attempt = 0; ; attempt += 1) {
        stats.requests += 1;
        let res: Awaited<ReturnType<typeof send>>;
        try {
          res = await send(
            method,
            url,
            { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
            body ? JSON.stringify(body) : undefined,
            from,
          );
        } catch (err) {
          stats.timeouts += 1;
          const what = `${method} ${url.replace(/[0-9a-f-]{36}|[\w-]{43}/g, ':id')} (${(err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError' ? 'timeout' : ((err as { code?: string }).code ?? (err as Error).name)})`;
          stats.noAnswer.set(what, (stats.noAnswer.get(what) ?? 0) + 1);
          if (attempt < 5) continue;
          return { status: 0, json: undefined as any, retried: true };
        }
        stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
        if (res.status === 500) stats.fiveHundreds += 1;
        if (res.status === 503) {
          stats.unavailable += 1;
          const after = Number(res.retryAfter);
          if (!after) stats.unavailableWithoutRetryAfter += 1;
          if (attempt < 10) {
            await sleep(Math.min(after || 2, 5) * 1000);
            continue;
          }
        }
        return { status: res.status, json: res.text ? (JSON.parse(res.text) as any) : undefined, retried: attempt > 0 };
      }
    }
    /** The action took effect: answered 2xx, or refused as already done after a 503 whose attempt went through. */
    const tookEffect = (r: { status: number; retried: boolean }) =>
      (r.status >= 200 && r.status < 300) || (r.retried && (r.status === 404 || r.status === 409));

    // What each process the run started should have become, from the last API action that took effect.
    type Expected = {
      kind: string;
      workflowId: string;
      status: 'COMPLETED' | 'RUNNING';
      result?: (r: any) => boolean;
      query?: { name: string; ok: (v: any) => boolean };
      what: string;
    };
    const expected: Expected[] = [];
    const expect = (e: Expected) => void expected.push(e);
    let phoneSeq = 0;
    const uniquePhone = (prefix: string) => `${prefix}${String(1_000_000 + (phoneSeq += 1) * 7 + Math.floor(Math.random() * 7)).slice(-7)}`;
    let recoveries = 0;

    const scenarios = {
      /** Two card payments with different keys racing for one invoice. */
      async paymentRace(p: (typeof people)[number]) {
        const { productId } = await insertRenewableProduct(db, p.seed, {
          dueAt: new Date(Date.now() + 40 * 86_400_000),
          priceCents: 1_000 + Math.floor(Math.random() * 9_000),
        });
        const answers = await Promise.all(
          [p.admin, p.rep].map((token) =>
            call(
              'POST',
              `/v1/products/${productId}/payments`,
              token,
              { means: 'card', cardToken: 'tok_visa_chaos' },
              { 'idempotency-key': `chaos-${randomUUID()}` },
            ),
          ),
        );
        // The winner's process captures; the loser's (409) refused at its reservation.
        for (const a of answers) {
          const id: string | undefined = a.json?.payment?.id;
          if (a.status < 300 && id)
            expect({ kind: 'payment', workflowId: paymentWorkflowId(id), status: 'COMPLETED', result: (r) => r.status === 'captured', what: 'captured' });
        }
      },
      /** A grant to a ticket's agents, revoked a moment later: two emails. */
      async supportAccess(p: (typeof people)[number]) {
        const g = await call('POST', '/v1/support-access-grants', p.rep, {
          organizationId: p.seed.org.id,
          ticketId: p.seed.ticket.id,
          kind: 'mail',
          resourceIds: ['info@shop.example'],
        });
        if (g.status !== 201) return;
        const revoked = await call('DELETE', `/v1/support-access-grants/${g.json.id}`, p.rep);
        expect(
          tookEffect(revoked)
            ? {
                kind: 'support access',
                workflowId: supportAccessWorkflowId(g.json.id),
                status: 'COMPLETED',
                result: (r) => r.state === 'revoked',
                what: 'revoked',
              }
            : { kind: 'support access', workflowId: supportAccessWorkflowId(g.json.id), status: 'RUNNING', what: 'active' },
        );
      },
      /** A product cancelled and confirmed from the emailed link. */
      async cancellation(p: (typeof people)[number]) {
        const { productId } = await insertProduct(db, p.seed);
        const r = await call('POST', `/v1/products/${productId}/cancellation-requests`, p.admin);
        if (r.status !== 202) return;
        const mail = await smtp.waitFor((m) => m.text.includes(productId.slice(0, 6)) && /\/cancel\/[\w-]{43}/.test(m.text), 90_000).catch(() => undefined);
        const token = mail && /\/cancel\/([\w-]{43})/.exec(mail.text)?.[1];
        const confirmed = token && tookEffect(await call('POST', `/v1/cancellation-requests/${token}/confirm`, null));
        expect(
          confirmed
            ? {
                kind: 'cancellation',
                workflowId: cancellationWorkflowId(productId),
                status: 'COMPLETED',
                result: (res) => res.state === 'confirmed',
                what: 'confirmed',
              }
            : { kind: 'cancellation', workflowId: cancellationWorkflowId(productId), status: 'RUNNING', what: 'awaiting confirmation' },
        );
      },
      /**
       * A paid order blocked, its identity check walked by the customer (SMS code, position,
       * document, selfie) and decided by the ticket's agent: rejected orders are refunded once.
       */
      async blockedOrder(_p: (typeof people)[number]) {
        const seed = await seedOrganization(db);
        const agent = (await issueBearerToken({ db, authSecret }, { role: 'agent', sub: seed.agent.id }, 2 * 3_600_000)).token;
        // One key for every retry of this checkout: a retried request never records a second order.
        const checkout = `ch_checkout_${randomUUID().slice(0, 8)}`;
        const order = await call(
          'POST',
          '/v1/orders',
          systemToken,
          {
            organizationId: seed.org.id,
            accountId: seed.legalRep.id,
            currency: 'CHF',
            lines: [{ productType: 'web_hosting', description: 'Web hosting', quantity: 1, unitPriceCents: 4_800 }],
            payment: { means: 'card', reference: checkout },
          },
          { 'idempotency-key': checkout },
        );
        if (order.status !== 201) return;
        const orderId: string = order.json.id;
        if ((await call('POST', `/v1/orders/${orderId}/block`, systemToken, { reason: 'chaos: suspected phishing' })).status !== 202) return;
        const mail = await smtp.waitFor((m) => m.to.includes(seed.legalRep.login_email) && /verify\/[\w-]{43}/.test(m.text), 90_000);
        const link = /verify\/([\w-]{43})/.exec(mail.text)![1]!;
        const phone = uniquePhone('+4179');
        const step = (path: string, body: unknown) => call('POST', `/v1/verification/${link}${path}`, null, body);
        if ((await step('/phone', { phone })).status >= 300) return;
        const sms = await smsSink.waitFor((m) => m.to === phone, 90_000);
        await step('/phone/confirm', { code: /\d{6}/.exec(sms.body)![0] });
        await step('/geolocation', { latitude: 46.95, longitude: 7.45, accuracyMeters: 10 });
        const image = Buffer.from(await (await fetch(`${base}/v1/verification/${link}/qr.png`)).arrayBuffer()).toString('base64');
        await step('/document', { type: 'id_card', images: [image, image] });
        const submitted = await step('/selfie', { image });
        if (submitted.status >= 300) return;
        const read = await call('GET', `/v1/orders/${orderId}`, systemToken);
        const caseId: string | undefined = read.json?.block?.verificationCaseId;
        if (!caseId) return;
        await call('POST', `/v1/verification-cases/${caseId}/claim`, agent);
        const decision = Math.random() < 0.5 ? 'reject' : 'approve';
        const decided = await call('POST', `/v1/verification-cases/${caseId}/decision`, agent, { decision, reason: 'chaos run' });
        if (!tookEffect(decided)) return;
        orders[decision === 'reject' ? 'rejected' : 'approved'].push(orderId);
        const outcome = decision === 'reject' ? 'cancelled_rejected' : 'fulfilled';
        expect({ kind: 'blocked order', workflowId: orderBlockWorkflowId(orderId), status: 'COMPLETED', result: (r) => r.outcome === outcome, what: outcome });
        expect({
          kind: 'verification case',
          workflowId: verificationWorkflowId(caseId),
          status: 'COMPLETED',
          result: (r) => r.outcome === (decision === 'reject' ? 'rejected' : 'approved'),
          what: decision === 'reject' ? 'rejected' : 'approved',
        });
      },
      /**
       * A holder who cannot log in (P3, P4), from a client address of their own: the password reset
       * by an SMS code or by the emailed link, or the login sent by email after an SMS code.
       */
      async recovery(_p: (typeof people)[number]) {
        const n = (recoveries += 1);
        const from = `127.0.${1 + (Math.floor(n / 250) % 250)}.${1 + (n % 250)}`;
        const tag = randomUUID().slice(0, 8);
        const holder = {
          id: randomUUID(),
          login_email: `holder-${tag}@customer.test`,
          display_name: `Holder ${tag}`,
          mobile_phone: uniquePhone('+4178'),
          recovery_email: `rescue-${tag}@elsewhere.test`,
          password_hash: await hashPassword(`chaos ${tag} passphrase`),
        };
        await db.insertInto('accounts').values(holder).execute();
        const post = (url: string, body: unknown) => call('POST', url, null, body, {}, from);
        const smsCode = async () => /\b(\d{6})\b/.exec((await smsSink.waitFor((m) => m.to === holder.mobile_phone, 90_000)).body)![1]!;
        if (n % 3 === 2) {
          const r = await post('/v1/recovery/login-email', { phone: holder.mobile_phone });
          if (r.status !== 202) return;
          const workflowId = recoveryLoginWorkflowId(r.json.requestId);
          if (!tookEffect(await post(`/v1/recovery/login-email/${r.json.requestId}/confirm`, { code: await smsCode() }))) return;
          const delivered = await post(`/v1/recovery/login-email/${r.json.requestId}/deliver`, { channel: 'email' });
          expect(
            tookEffect(delivered)
              ? { kind: 'recovery', workflowId, status: 'COMPLETED', result: (res) => res.step === 'closed', what: 'closed, login delivered' }
              : {
                  kind: 'recovery',
                  workflowId,
                  status: 'RUNNING',
                  query: { name: 'status', ok: (v) => v.step === 'confirmed' },
                  what: 'confirmed, awaiting the channel',
                },
          );
          return;
        }
        const channel = n % 3 === 0 ? 'sms' : 'email';
        const r = await post('/v1/recovery/password', { login: holder.login_email, channel });
        if (r.status !== 202) return;
        let requestId: string = r.json.requestId;
        let workflowId = passwordRecoveryWorkflowId(requestId);
        let token: string | undefined;
        if (channel === 'sms') {
          const confirmed = await post(`/v1/recovery/password/${requestId}/confirm`, { code: await smsCode() });
          token = confirmed.json?.resetToken;
          if (!token) {
            // Confirmed by an attempt whose answer was lost: the reset token went with it; the process waits for the reset.
            if (tookEffect(confirmed))
              expect({
                kind: 'recovery',
                workflowId,
                status: 'RUNNING',
                query: { name: 'status', ok: (v) => v.step === 'confirmed' },
                what: 'confirmed, awaiting the reset',
              });
            return;
          }
        } else {
          const mail = await smtp.waitFor((m) => m.to.includes(holder.recovery_email) && /reset-password\/[\w-]{43}/.test(m.text), 90_000);
          token = /reset-password\/([\w-]{43})/.exec(mail.text)![1]!;
          // A request retried after no answer may have been made twice, each emailing its own link:
          // the holder follows the first to arrive, so the process to expect is the link's.
          const linked = await db.selectFrom('recovery_requests').select('id').where('token_hash', '=', tokenHash(token)).executeTakeFirst();
          if (linked && linked.id !== requestId) {
            requestId = linked.id;
            workflowId = passwordRecoveryWorkflowId(requestId);
          }
        }
        const reset = await post(`/v1/recovery/password/${token}`, { newPassword: `chaos new ${randomUUID()}` });
        if (!tookEffect(reset)) return;
        expect({ kind: 'recovery', workflowId, status: 'COMPLETED', result: (res) => res.step === 'closed', what: 'closed, password reset' });
        expect({
          kind: 'account notice',
          workflowId: accountNoticeWorkflowId({ accountId: holder.id, kind: 'password_reset', eventId: requestId }),
          status: 'COMPLETED',
          what: 'holder told',
        });
      },
      /** Someone invited into an organization by its administrator, accepting from the emailed link. */
      async invitation(p: (typeof people)[number]) {
        const tag = randomUUID().slice(0, 8);
        const invitee = {
          id: randomUUID(),
          login_email: `invitee-${tag}@customer.test`,
          display_name: `Invitee ${tag}`,
          mobile_phone: null,
          recovery_email: null,
        };
        await db.insertInto('accounts').values(invitee).execute();
        const inviteeToken = (await issueBearerToken({ db, authSecret }, { role: 'customer', sub: invitee.id }, 2 * 3_600_000)).token;
        const invited = await call('POST', `/v1/organizations/${p.seed.org.id}/invitations`, p.admin, { email: invitee.login_email, role: 'collaborator' });
        if (invited.status !== 201) return;
        const workflowId = invitationWorkflowId(invited.json.id);
        const mail = await smtp.waitFor((m) => m.to.includes(invitee.login_email) && /\/invitations\/[\w-]{43}/.test(m.text), 90_000).catch(() => undefined);
        const token = mail && /\/invitations\/([\w-]{43})/.exec(mail.text)![1]!;
        const accepted = token && tookEffect(await call('POST', `/v1/invitations/${token}/accept`, inviteeToken));
        expect(
          accepted
            ? { kind: 'invitation', workflowId, status: 'COMPLETED', result: (res) => res.state === 'accepted', what: 'accepted' }
            : { kind: 'invitation', workflowId, status: 'RUNNING', query: { name: 'status', ok: (v) => v.state === 'pending' }, what: 'pending' },
        );
      },
    };
    const kinds = Object.keys(scenarios) as (keyof typeof scenarios)[];
    const ran = new Map<string, number>();

    const deadline = Date.now() + args.durationMs;
    const faults = { kills: 0, pgOutages: 0, temporalOutages: 0 };
    /** When each fault happened, to name the one behind each duplicated message. */
    const faultLog: { at: number; until: number; what: string }[] = [];
    const faultLoop = (async () => {
      const start = Date.now();
      const pgAt = start + args.durationMs * 0.35;
      const temporalAt = start + args.durationMs * 0.65;
      let pgDone = args.pgOutageMs <= 0;
      let temporalDone = args.temporalOutageMs <= 0;
      let nextKill = start + args.killEveryMs[0];
      // Outages run beside the kills, as they would: a worker may die while PostgreSQL is down.
      const outages: Promise<void>[] = [];
      // Kills every 5-15 s average 10 s, so 3 minutes hold about 18: the kills go on while the
      // last processes settle until --min-kills is reached.
      let extended = false;
      while (Date.now() < deadline || faults.kills < args.minKills) {
        if (!extended && Date.now() >= deadline) {
          extended = true;
          log(`load over with ${faults.kills} kills: killing workers until ${args.minKills}`);
        }
        await sleep(500);
        if (!pgDone && Date.now() >= pgAt) {
          pgDone = true;
          outages.push(
            (async () => {
              log(`PostgreSQL stopped for ${args.pgOutageMs / 1000}s`);
              const at = Date.now();
              await pg.stop();
              await sleep(args.pgOutageMs);
              pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'postgres'), port: pgPort });
              faults.pgOutages += 1;
              faultLog.push({ at, until: Date.now(), what: 'PostgreSQL outage' });
              log('PostgreSQL back');
            })(),
          );
        }
        if (!temporalDone && Date.now() >= temporalAt) {
          temporalDone = true;
          outages.push(
            (async () => {
              log(`Temporal server stopped for ${args.temporalOutageMs / 1000}s`);
              const at = Date.now();
              await temporal.teardown();
              await sleep(args.temporalOutageMs);
              temporal = await startDevServer({ port: temporalPort, dbFilename: path.join(dir, 'temporal.sqlite') });
              faults.temporalOutages += 1;
              faultLog.push({ at, until: Date.now(), what: 'Temporal outage' });
              log('Temporal server back on its data');
            })(),
          );
        }
        if (Date.now() >= nextKill) {
          const i = faults.kills % workers.length;
          workers[i]!.kill('SIGKILL');
          faultLog.push({ at: Date.now(), until: Date.now(), what: `worker-${i} SIGKILL` });
          workers[i] = startRole('worker', `worker-${i}`);
          faults.kills += 1;
          const [lo, hi] = args.killEveryMs;
          nextKill = Date.now() + lo + Math.random() * (hi - lo);
        }
      }
      await Promise.all(outages);
    })();
    const load = Array.from({ length: args.concurrency }, async (_, n) => {
      for (let i = n; Date.now() < deadline; i += 1) {
        const kind = kinds[i % kinds.length]!;
        ran.set(kind, (ran.get(kind) ?? 0) + 1);
        // The harness's own fixtures also need PostgreSQL: during its outage, wait rather than spin.
        await scenarios[kind](people[i % people.length]!).catch(async (err: Error) => {
          stats.harnessErrors += 1;
          await sleep(1_000);
          if (stats.harnessErrors % 10 === 1) log(`${kind}: ${err.message}`);
        });
      }
    });
    await Promise.all([faultLoop, ...load]);
    log(`load over (${[...ran].map(([k, n]) => `${k} ${n}`).join(', ')}); waiting for every process to settle`);

    // Settled: no payment reserved, no message queued, no payment process running.
    const settleBy = Date.now() + 180_000;
    let pending = { payments: 0, messages: 0, running: 0 };
    const toClose = new Set(expected.filter((e) => e.status === 'COMPLETED').map((e) => e.workflowId));
    for (;;) {
      const payments = Number(
        (
          await db
            .selectFrom('payments')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .where('status', '=', 'pending')
            .executeTakeFirstOrThrow()
        ).n,
      );
      const messages = Number(
        (
          await db
            .selectFrom('notification_outbox')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .where('status', '=', 'pending')
            .executeTakeFirstOrThrow()
        ).n,
      );
      // Payment processes, and every process whose last action should have ended it, still running.
      let running = 0;
      for await (const w of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) if (w.type === 'payment' || toClose.has(w.workflowId)) running += 1;
      const decided = [...orders.rejected, ...orders.approved];
      const blocked = decided.length
        ? Number(
            (
              await db
                .selectFrom('orders')
                .select((eb) => eb.fn.countAll<string>().as('n'))
                .where('id', 'in', decided)
                .where('status', '=', 'blocked')
                .executeTakeFirstOrThrow()
            ).n,
          )
        : 0;
      const refunding = orders.rejected.length
        ? Number(
            (
              await db
                .selectFrom('refunds')
                .select((eb) => eb.fn.countAll<string>().as('n'))
                .where('order_id', 'in', orders.rejected)
                .where('status', '!=', 'succeeded')
                .executeTakeFirstOrThrow()
            ).n,
          )
        : 0;
      pending = { payments, messages, running: running + blocked + refunding };
      if ((payments === 0 && messages === 0 && pending.running === 0) || Date.now() > settleBy) break;
      await sleep(2_000);
    }

    // Processes: each in the state its last API action implies, described by Temporal.
    const states = new Map<string, { expected: number; reached: number; other: number }>();
    const mismatches: string[] = [];
    const historyFailures = new Map<string, number>();
    const BENIGN_TASK_FAILURES = new Set(['WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND', 'WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE']);
    for (const e of expected) {
      const tally = states.get(e.kind) ?? { expected: 0, reached: 0, other: 0 };
      states.set(e.kind, tally);
      tally.expected += 1;
      const handle = client.workflow.getHandle(e.workflowId);
      let got: string;
      try {
        const status = (await handle.describe()).status.name;
        got = status;
        if (status === e.status && e.status === 'COMPLETED' && e.result && !e.result(await handle.result()))
          got = `${status} with another result (${JSON.stringify(await handle.result())})`;
        if (status === e.status && e.status === 'RUNNING' && e.query) {
          const v = await handle.query(e.query.name);
          if (!e.query.ok(v)) got = `${status} in another state (${JSON.stringify(v)})`;
        }
      } catch (err) {
        got = `not described: ${(err as Error).message}`;
      }
      if (got === e.status) tally.reached += 1;
      else {
        tally.other += 1;
        mismatches.push(`${e.workflowId}: expected ${e.status} (${e.what}), got ${got}`);
      }
      // Task failures that later healed, by cause; none may be a bug in the workflow code.
      for (const ev of (await handle.fetchHistory().catch(() => ({ events: [] }))).events ?? []) {
        if (ev.eventType !== proto.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) continue;
        const cause = proto.api.enums.v1.WorkflowTaskFailedCause[ev.workflowTaskFailedEventAttributes?.cause ?? 0] ?? 'unknown';
        historyFailures.set(cause, (historyFailures.get(cause) ?? 0) + 1);
      }
    }
    // Stuck: a running process whose activity keeps failing, or whose workflow task keeps failing.
    const stuck: string[] = [];
    for await (const w of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
      const raw = (await client.workflow.getHandle(w.workflowId).describe()).raw;
      for (const a of raw.pendingActivities ?? []) {
        if ((a.attempt ?? 0) >= STUCK_ACTIVITY_ATTEMPTS && a.lastFailure)
          stuck.push(`${w.workflowId}: activity ${a.activityType?.name} attempt ${a.attempt}: ${a.lastFailure.message}`);
      }
      if ((raw.pendingWorkflowTask?.attempt ?? 0) >= 2) stuck.push(`${w.workflowId}: workflow task attempt ${raw.pendingWorkflowTask!.attempt}`);
    }
    const badTaskFailures = [...historyFailures].filter(([cause]) => !BENIGN_TASK_FAILURES.has(cause)).reduce((n, [, k]) => n + k, 0);

    // Money: per invoice, the provider's net against the books; nothing captured beyond the total.
    const books = await reconcile(db);
    const invoices = await sql<{ id: string; total: number; captured: string; n: string }>`
      select i.id, i.total_cents as total, coalesce(sum(p.amount_cents) filter (where p.status = 'captured'), 0) as captured, count(p.id) filter (where p.status = 'captured') as n
      from invoices i join payments p on p.invoice_id = i.id where p.requested_by like 'customer:%' group by i.id, i.total_cents`.execute(db);
    const money = { expected: invoices.rows.length, once: 0, lost: 0, duplicated: 0 };
    for (const inv of invoices.rows) {
      const rec = books.find((b) => b.subject === 'invoice' && b.id === inv.id);
      if (Number(inv.captured) > inv.total || Number(inv.n) > 1 || (rec && rec.providerCents > rec.booksCents)) money.duplicated += 1;
      else if (Number(inv.captured) !== inv.total || (rec && rec.providerCents < rec.booksCents)) money.lost += 1;
      else money.once += 1;
    }
    // Blocked orders: a rejected one cancelled and refunded once at the provider, an approved one fulfilled.
    const refunds = { expected: 0, once: 0, lost: 0, duplicated: 0 };
    const orderStates = { expected: orders.rejected.length + orders.approved.length, reached: 0 };
    for (const [decision, ids] of [
      ['reject', orders.rejected],
      ['approve', orders.approved],
    ] as const) {
      for (const orderId of ids) {
        const o = await db.selectFrom('orders').select('status').where('id', '=', orderId).executeTakeFirstOrThrow();
        if (o.status === (decision === 'reject' ? 'cancelled' : 'fulfilled')) orderStates.reached += 1;
        if (decision !== 'reject') continue;
        refunds.expected += 1;
        const pay = await db.selectFrom('payments').select('id').where('order_id', '=', orderId).executeTakeFirstOrThrow();
        const executed = (
          await db.selectFrom('local_provider_calls').select('result').where('kind', '=', 'refund').where('idempotency_key', '=', `refund:${pay.id}`).execute()
        ).filter((c) => c.result === 'executed').length;
        if (executed === 0) refunds.lost += 1;
        else if (executed === 1) refunds.once += 1;
        else refunds.duplicated += 1;
      }
    }
    /** The faults between a message's first copy and its second: the crash that made the retry send it again. */
    const between = (times: number[]) => {
      const [first, second = first] = [...times].sort((a, b) => a - b) as [number, number?];
      const seen = faultLog.filter((f) => f.until >= first - 1_000 && f.at <= second);
      const at = (t: number) => new Date(t).toISOString().slice(11, 23);
      return `first copy ${at(first)}, again ${((second - first) / 1000).toFixed(1)} s later; ${seen.map((f) => `${f.what} at ${at(f.at)}`).join(', ') || 'no fault in between'}`;
    };
    // SMS: per number (one per walk), what the sink received against what the outbox sent. A sent
    // row keeps no number (issue 14, item 6): the sink's copy with the row's message id names it.
    const smsRows = await db.selectFrom('notification_outbox').select(['recipient', 'status', 'provider_message_id']).where('channel', '=', 'sms').execute();
    const sms = { expected: smsRows.length, once: 0, lost: 0, duplicated: 0 };
    const perPhone = new Map<string, number>();
    const toBySid = new Map<string, string>();
    for (const m of smsSink.messages()) {
      perPhone.set(m.to, (perPhone.get(m.to) ?? 0) + 1);
      toBySid.set(m.sid, m.to);
    }
    const expectedPerPhone = new Map<string, number>();
    for (const r of smsRows) {
      const to = (r.provider_message_id && toBySid.get(r.provider_message_id)) || r.recipient;
      expectedPerPhone.set(to, (expectedPerPhone.get(to) ?? 0) + 1);
    }
    const duplicatedSms: string[] = [];
    for (const [phone, n] of expectedPerPhone) {
      const got = perPhone.get(phone) ?? 0;
      if (got > n)
        duplicatedSms.push(
          `${phone.slice(0, 6)}… (${got} received for ${n}; ${between(
            smsSink
              .messages()
              .filter((m) => m.to === phone)
              .map((m) => Date.parse(m.receivedAt)),
          )})`,
        );
      sms.once += Math.min(n, got);
      sms.lost += Math.max(0, n - got);
      sms.duplicated += Math.max(0, got - n);
    }
    const providerCalls = await db
      .selectFrom('local_provider_calls')
      .select(['result', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('result')
      .execute();

    // Email: every outbox row against what the SMTP server received under its Message-ID.
    const rows = await db.selectFrom('notification_outbox').select(['key', 'status', 'attempts']).where('channel', '=', 'email').execute();
    const received = new Map<string, number>();
    const receivedAt = new Map<string, number[]>();
    for (const m of smtp.messages()) {
      if (!m.messageId) continue;
      received.set(m.messageId, (received.get(m.messageId) ?? 0) + 1);
      receivedAt.set(m.messageId, [...(receivedAt.get(m.messageId) ?? []), Date.parse(m.receivedAt)]);
    }
    const email = { expected: rows.length, once: 0, lost: 0, duplicated: 0, failedForGood: 0 };
    const duplicatedKeys: string[] = [];
    for (const r of rows) {
      const n = received.get(`<${encodeURIComponent(r.key)}@backoffice>`) ?? 0;
      if (r.status === 'failed') email.failedForGood += 1;
      else if (n === 0) email.lost += 1;
      else if (n === 1) email.once += 1;
      else {
        email.duplicated += 1;
        const id = `<${encodeURIComponent(r.key)}@backoffice>`;
        duplicatedKeys.push(`${r.key} (${n} received, ${r.attempts} recorded attempt(s); ${between(receivedAt.get(id) ?? [])})`);
      }
    }

    const crashes = faults.kills + faults.pgOutages + faults.temporalOutages;
    console.log(`
faults injected      worker SIGKILLs ${faults.kills}, PostgreSQL outages ${faults.pgOutages}, Temporal outages ${faults.temporalOutages}
requests sent        ${stats.requests} (${[...stats.byStatus]
      .sort((a, b) => a[0] - b[0])
      .map(([s, n]) => `${s}: ${n}`)
      .join(
        ', ',
      )}; no answer within ${ANSWER_WITHIN_MS / 1000} s: ${stats.timeouts}${stats.noAnswer.size ? ` (${[...stats.noAnswer].map(([w, n]) => `${w} ×${n}`).join(', ')})` : ''})
5xx                  500: ${stats.fiveHundreds}, 503: ${stats.unavailable} (without Retry-After: ${stats.unavailableWithoutRetryAfter})
still pending        payments ${pending.payments}, messages ${pending.messages}, processes (payments, decided orders, those whose last action ends them) ${pending.running}
provider calls       ${providerCalls.map((c) => `${c.result} ${c.n}`).join(', ') || 'none'}

side effect                      expected   once   lost   duplicated
payments (invoice paid once)     ${String(money.expected).padStart(8)} ${String(money.once).padStart(6)} ${String(money.lost).padStart(6)} ${String(money.duplicated).padStart(12)}
order refunds (rejected orders)  ${String(refunds.expected).padStart(8)} ${String(refunds.once).padStart(6)} ${String(refunds.lost).padStart(6)} ${String(refunds.duplicated).padStart(12)}
emails (outbox key → SMTP)       ${String(email.expected).padStart(8)} ${String(email.once).padStart(6)} ${String(email.lost).padStart(6)} ${String(email.duplicated).padStart(12)}${email.failedForGood ? `   (${email.failedForGood} failed for good)` : ''}
SMS (per number → sink)          ${String(sms.expected).padStart(8)} ${String(sms.once).padStart(6)} ${String(sms.lost).padStart(6)} ${String(sms.duplicated).padStart(12)}
blocked orders in the state their decision implies: ${orderStates.reached} of ${orderStates.expected}

process (Temporal)               expected reached  other
${[...states].map(([kind, t]) => `${kind.padEnd(32)} ${String(t.expected).padStart(8)} ${String(t.reached).padStart(7)} ${String(t.other).padStart(6)}`).join('\n')}
stuck on a failing task: ${stuck.length}; workflow task failures in histories: ${[...historyFailures].map(([c, n]) => `${c.replace('WORKFLOW_TASK_FAILED_CAUSE_', '').toLowerCase()} ${n}`).join(', ') || 'none'}
${
  mismatches.length
    ? `not in the expected state:\n${mismatches
        .slice(0, 20)
        .map((m) => `  ${m}`)
        .join('\n')}\n`
    : ''
}${
      stuck.length
        ? `stuck:\n${stuck
            .slice(0, 20)
            .map((m) => `  ${m}`)
            .join('\n')}\n`
        : ''
    }
money mismatches (provider ≠ books): ${books.filter((b) => b.providerCents !== b.booksCents).length}
${duplicatedSms.length ? `SMS received more often than sent, with the faults between the copies:\n${duplicatedSms.map((k) => `  ${k}`).join('\n')}\n` : ''}${duplicatedKeys.length ? `emails received twice, with the faults between the copies:\n${duplicatedKeys.map((k) => `  ${k}`).join('\n')}\n` : ''}`);
    const failures = [
      money.lost && 'payments lost',
      money.duplicated && 'money moved twice',
      refunds.lost && 'refunds lost',
      refunds.duplicated && 'refunds made twice',
      sms.lost && 'SMS lost',
      sms.duplicated > crashes && 'more duplicated SMS than crashes',
      orderStates.reached !== orderStates.expected && 'blocked orders not in the state their decision implies',
      mismatches.length && 'processes not in the state their last API action implies',
      stuck.length && 'processes stuck on a failing task',
      badTaskFailures && 'workflow tasks failed in the workflow code',
      stats.timeouts && `requests without an answer within the API's ${API_REQUEST_TIMEOUT_MS / 1000} s deadline`,
      email.lost && 'emails lost',
      email.duplicated > crashes && 'more duplicated emails than crashes',
      stats.fiveHundreds && 'answers 500',
      stats.unavailableWithoutRetryAfter && '503 without Retry-After',
      (pending.payments || pending.messages || pending.running) && 'work still pending after settling',
      money.expected === 0 && 'no payment was made: the run measured nothing',
    ].filter(Boolean);
    if (failures.length) log(`FAILED: ${failures.join('; ')} (logs in ${dir})`);
    else log('passed: nothing lost, no money moved twice, no 500');
    exitCode = failures.length ? 1 : 0;
    if (failures.length) args.keep = true;
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

main().catch((err: Error) => {
  console.error(`chaos failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
