import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database';
import type { Mailer } from '../lib/mailer';
import type { BusinessCalendar } from '../lib/businessHours';
import type { PaymentProvider } from '../lib/payments';
import type { SmsSender } from '../lib/sms';
import type { Keyring } from '../temporal/codec';

/** What activities may touch. The worker passes real transports; tests pass local peers. */
export interface ActivityDeps {
  db: Kysely<Database>;
  mailer: Mailer;
  sms: SmsSender;
  clock: { now(): Date };
  config: { publicUrl: string };
  /** Master keys: verification documents and SMS codes use keys derived from them. */
  keyring: Keyring;
  verification: { calendar: BusinessCalendar; supervisorsEmail: string };
  payments: PaymentProvider;
  /** For activities that start other processes (the renewal sweep). */
  temporal?: { client: Client; taskQueue: string };
}
