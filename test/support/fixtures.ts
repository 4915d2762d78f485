/**
 * Shared, lazily started test infrastructure: one embedded PostgreSQL, one SMTP capture, one SMS
 * sink, one Temporal server of each kind and one workflow bundle per mocha run. Torn down by the
 * root hook in test/setup.ts. Tests isolate themselves by unique ids, not by resetting state.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { createDb, migrateToLatest } from '../../db/connection';
import type { Database } from '../../db/database';
import { startEmbeddedPostgres } from '../../db/embedded';
import { startSmsSink, type SmsSink } from '../../lib/dev/smsSink';
import { freePort } from '../../lib/ports';
import { startSmtpCapture, type SmtpCapture } from '../../lib/dev/smtpCapture';
import { createKeyring, type Keyring } from '../../temporal/codec';
import { createDataConverter } from '../../temporal/dataConverter';
import { ensureTestServer } from '../../temporal/provision';
import { startDevServer, startTimeSkippingServer } from '../../temporal/servers';
import { bundleWorkflows } from '../../temporal/worker';

const teardowns: (() => Promise<unknown>)[] = [];
const once = <T>(start: () => Promise<T>): (() => Promise<T>) => {
  let started: Promise<T> | undefined;
  return () => (started ??= start());
};

export { freePort };

/**
 * Settings for npm start's stack on embedded defaults, every external address unset and every port
 * free (0 where a test does not reach that listener), so several stacks run side by side.
 */
export async function embeddedStackSettings(
  dataDir: string,
  opts: { ui?: boolean; metrics?: boolean; smtp?: boolean; sms?: boolean } = {},
): Promise<Record<string, string>> {
  const port = async (wanted = true) => (wanted ? String(await freePort()) : '0');
  return {
    TEMPORAL_ADDRESS: '',
    DATABASE_URL: '',
    SMTP_URL: '',
    TWILIO_ACCOUNT_SID: '',
    TWILIO_AUTH_TOKEN: '',
    TWILIO_FROM: '',
    AUTH_SECRET: '',
    PAYLOAD_ENCRYPTION_KEY: '',
    DATA_DIR: dataDir,
    PORT: await port(),
    TEMPORAL_DEV_PORT: await port(),
    TEMPORAL_UI_PORT: await port(opts.ui ?? false),
    EMBEDDED_POSTGRES_PORT: await port(),
    SMTP_CAPTURE_PORT: await port(opts.smtp ?? true),
    SMS_SINK_PORT: await port(opts.sms ?? true),
    WORKER_METRICS_PORT: await port(opts.metrics ?? false),
  };
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `backoffice-${prefix}-`));
  teardowns.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Real PostgreSQL: TEST_DATABASE_URL when given, else an embedded server in a temp dir. */
export const database = once(async (): Promise<{ db: Kysely<Database>; url: string }> => {
  let url = process.env.TEST_DATABASE_URL;
  if (!url) {
    const pg = await startEmbeddedPostgres({ dataDir: path.join(tempDir('pg'), 'data'), port: await freePort(), persistent: false });
    teardowns.push(() => pg.stop());
    url = pg.url;
  }
  const db = createDb(url);
  teardowns.push(() => db.destroy());
  await migrateToLatest(db);
  return { db, url };
});

export const smtpCapture = once(async (): Promise<SmtpCapture> => {
  // Addresses at reject.test get a 550 so permanent failures can be exercised over real SMTP.
  const smtp = await startSmtpCapture({ rejectRecipients: /@reject\.test$/ });
  teardowns.push(() => smtp.close());
  return smtp;
});

export const smsSink = once(async (): Promise<SmsSink> => {
  const sink = await startSmsSink();
  teardowns.push(() => sink.close());
  return sink;
});

export const timeSkippingEnv = once(async (): Promise<TestWorkflowEnvironment> => {
  const env = await startTimeSkippingServer();
  teardowns.push(() => env.teardown());
  return env;
});

/** Fetches or builds the time-skipping server once, before the first suite starts its own. */
const ensureTestServerOnce = once(() => ensureTestServer());

export const devServerEnv = once(async (): Promise<TestWorkflowEnvironment> => {
  const env = await startDevServer({ port: await freePort(), ui: false });
  teardowns.push(() => env.teardown());
  return env;
});

// The production workflows plus test-only parents (test/support/testWorkflows.ts).
export const workflowBundle = once((): Promise<WorkflowBundleWithSourceMap> => bundleWorkflows(require.resolve('./testWorkflows')));

/** The committed test-only key that encrypted test/histories. */
export function fixtureKeyring(): Keyring {
  const { id, key } = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'payload-key.json'), 'utf8')) as { id: string; key: string };
  return createKeyring({ id, key: Buffer.from(key, 'base64') });
}

export async function teardownAll(): Promise<void> {
  for (const fn of teardowns.reverse()) await fn().catch((err: Error) => console.error('teardown:', err.message));
  teardowns.length = 0;
}

/** A fresh organization with a legal representative, an administrator, a collaborator, an outsider, two agents and an open ticket. */
export async function seedOrganization(db: Kysely<Database>) {
  const id = () => randomUUID();
  const tag = randomUUID().slice(0, 8);
  const org = { id: id(), name: `Org ${tag}` };
  const person = (name: string) => ({
    id: id(),
    login_email: `${name}-${tag}@customer.test`,
    display_name: `${name} ${tag}`,
    mobile_phone: null,
    recovery_email: null,
  });
  const legalRep = person('legal');
  const admin = person('admin');
  const collaborator = person('collab');
  const outsider = person('outsider');
  const agent = { id: id(), email: `agent-${tag}@support.test`, display_name: `Agent ${tag}` };
  const otherAgent = { id: id(), email: `other-${tag}@support.test`, display_name: `Other agent ${tag}` };
  const ticket = { id: id(), organization_id: org.id, opened_by: legalRep.id, subject: 'Mail bounces', assigned_agent_id: agent.id };
  await db.insertInto('organizations').values(org).execute();
  await db.insertInto('accounts').values([legalRep, admin, collaborator, outsider]).execute();
  await db.insertInto('agents').values([agent, otherAgent]).execute();
  await db
    .insertInto('memberships')
    .values([
      { organization_id: org.id, account_id: legalRep.id, role: 'legal_representative' },
      { organization_id: org.id, account_id: admin.id, role: 'administrator' },
      { organization_id: org.id, account_id: collaborator.id, role: 'collaborator' },
    ])
    .execute();
  await db.insertInto('support_tickets').values(ticket).execute();
  return { org, legalRep, admin, collaborator, outsider, agent, otherAgent, ticket };
}

/** Inserts an active grant row directly, for workflow tests that start the workflow themselves. */
export async function insertActiveGrant(db: Kysely<Database>, seed: Awaited<ReturnType<typeof seedOrganization>>, kind: 'mail' | 'kdrive' | 'kchat' = 'mail') {
  const grantedAt = new Date();
  return db
    .insertInto('support_access_grants')
    .values({
      id: randomUUID(),
      organization_id: seed.org.id,
      ticket_id: seed.ticket.id,
      granted_by: seed.legalRep.id,
      kind,
      resource_ids: ['box-1'],
      granted_at: grantedAt,
      expires_at: new Date(grantedAt.getTime() + 7 * 24 * 3600_000),
      ended_at: null,
      ended_by: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * A client with the production data converter. Tests skip time explicitly with env.sleep():
 * the SDK's auto-skipping client drops the payload codec, and explicit skips read better anyway.
 */
export function testClient(env: TestWorkflowEnvironment): Client {
  return new Client({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter: createDataConverter(fixtureKeyring()) });
}

/**
 * Hooks for a suite of workflow tests on the time-skipping server, one server per test. That server
 * stops skipping time for everyone while any task is outstanding, so a task a test left behind
 * (a child started by an activity, a timed-out test's worker still polling) would freeze the clock
 * of every later test: a CI run once spent 40 minutes on env.sleep calls that never skipped. A
 * fresh server starts in well under a second; each test also closes the workflows it opened.
 */
export function timeSkippingSuite() {
  const suite = { env: undefined as unknown as TestWorkflowEnvironment, client: undefined as unknown as Client, opened: [] as WorkflowHandle[] };
  before(async function () {
    this.timeout(300_000);
    await Promise.all([ensureTestServerOnce(), workflowBundle(), database()]);
  });
  beforeEach(async function () {
    this.timeout(120_000);
    suite.env = await startTimeSkippingServer();
    suite.client = testClient(suite.env);
  });
  afterEach(async function () {
    this.timeout(60_000);
    await Promise.all(suite.opened.splice(0).map((h) => h.terminate('test cleanup').catch(() => undefined)));
    await suite.env?.teardown().catch((err: Error) => console.error('time-skipping teardown:', err.message));
  });
  return suite;
}
