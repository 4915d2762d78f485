import type { Tracing } from '../../temporal/tracing';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { createMailer } from '../../lib/mailer';
import { parseBusinessHours } from '../../lib/businessHours';
import { LocalPaymentProvider } from '../../lib/payments';
import { createSmsSender } from '../../lib/sms';
import { createDataConverter } from '../../temporal/dataConverter';
import { createWorker } from '../../temporal/worker';
import type { Client } from '@temporalio/client';
import { database, fixtureKeyring, smsSink, smtpCapture, testClient, workflowBundle } from './fixtures';

/** Business hours round the clock, so due times in tests are exactly 2 hours after submission. */
export const TEST_CALENDAR = parseBusinessHours('Mon-Sun 00:00-24:00', 'UTC');

/** One provider for the run, its ledger in the shared PostgreSQL: tests count the calls that reached it. */
export const testPayments = new LocalPaymentProvider(async () => (await database()).db);

/** Real activities wired to the shared PostgreSQL, SMTP capture and SMS sink. */
export async function realActivities(temporal?: { client: Client; taskQueue: string }) {
  const { db } = await database();
  const smtp = await smtpCapture();
  const sink = await smsSink();
  return createActivities({
    db,
    mailer: createMailer(smtp.url, 'Backoffice <no-reply@backoffice.test>'),
    sms: createSmsSender({ accountSid: sink.accountSid, authToken: sink.authToken, from: '+15005550006', apiUrl: sink.url }),
    clock: { now: () => new Date() },
    config: { publicUrl: 'http://backoffice.test' },
    keyring: fixtureKeyring(),
    verification: { calendar: TEST_CALENDAR, supervisorsEmail: 'supervisors@support.test' },
    payments: testPayments,
    temporal,
  });
}

/** One worker per test on its own task queue, with the production data converter. */
export async function testWorker(
  env: TestWorkflowEnvironment,
  taskQueue = `test-${randomUUID()}`,
  opts: { maxCachedWorkflows?: number; tracing?: Tracing } = {},
) {
  const worker = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities: await realActivities({ client: testClient(env), taskQueue }),
    dataConverter: createDataConverter(fixtureKeyring()),
    workflowBundle: await workflowBundle(),
    ...opts,
  });
  return { worker, taskQueue };
}
