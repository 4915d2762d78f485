import type { Kysely } from 'kysely';
import type { Database } from '../db/database';
import type { Mailer } from '../lib/mailer';
import type { SmsSender } from '../lib/sms';

/** What activities may touch. The worker passes real transports; tests pass local peers. */
export interface ActivityDeps {
  db: Kysely<Database>;
  mailer: Mailer;
  sms: SmsSender;
  clock: { now(): Date };
  config: { publicUrl: string };
}
