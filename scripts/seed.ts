/**
 * `npm run seed`: demo data for trying the API by hand, and a token for each actor.
 * Idempotent: fixed ids, so running it twice changes no data; each run opens a new 30-day session
 * for each person's token (issue 14, item 4), so earlier tokens keep working until they expire.
 */
import { issueBearerToken } from '../api/services/bearerTokens';
import { migrateToLatest } from '../db/connection';
import { hashPassword } from '../lib/passwords';
import { loadConfig } from '../lib/config';
import { loadAuthSecret } from '../temporal/keys';
import { openDatabase } from './connect';

/** Seed tokens last 30 days: demo tokens, for trying the API by hand against `npm start`. */
const SEED_TOKEN_LIFETIME_MS = 30 * 86_400_000;
const DEMO_HOSTING_ID = '5e7d0c1a-4b8e-4f3a-9c2d-6a1b2c3d4e5f';

export const DEMO = {
  organization: { id: '0a000000-0000-4000-8000-000000000001', name: 'Demo Hosting SA' },
  alice: {
    id: 'c0000000-0000-4000-8000-00000000a11c',
    login_email: 'alice@demo.example',
    display_name: 'Alice Martin',
    mobile_phone: '+41790000001',
    recovery_email: 'alice.recovery@demo.example',
    country: 'CH',
  },
  // Issue 5, P5: Carla logs in with a mailbox the organization hosts (shop.example).
  carla: {
    id: 'c0000000-0000-4000-8000-00000000ca71',
    login_email: 'carla@shop.example',
    display_name: 'Carla Rossi',
    mobile_phone: '+41790000003',
    recovery_email: 'carla.private@webmail.example',
  },
  bob: {
    id: 'c0000000-0000-4000-8000-000000000b0b',
    login_email: 'bob@demo.example',
    display_name: 'Bob Keller',
    mobile_phone: '+41790000002',
    recovery_email: null,
  },
  agentAnna: { id: 'a9000000-0000-4000-8000-0000000a77a0', email: 'anna@support.example', display_name: 'Anna (support)', is_supervisor: true },
  agentTom: { id: 'a9000000-0000-4000-8000-000000000700', email: 'tom@support.example', display_name: 'Tom (support)', is_supervisor: false },
  ticket: { id: '71c00000-0000-4000-8000-000000000001', subject: 'Mails to our shop bounce since Monday' },
  // Issue 17, P11: a second organization, a client of the demo organization's partner program once
  // Dan, its legal representative, accepts an invitation (docs/walkthroughs/p11-partner-billing.sh).
  clientOrganization: { id: '0a000000-0000-4000-8000-000000000002', name: 'Client Shop Sàrl' },
  dan: {
    id: 'c0000000-0000-4000-8000-0000000000da',
    login_email: 'dan@client.example',
    display_name: 'Dan Weber',
    mobile_phone: '+41790000004',
    recovery_email: null,
  },
} as const;

(async () => {
  const config = loadConfig();
  const { db, close } = await openDatabase(config);
  try {
    await migrateToLatest(db);
    await db.transaction().execute(async (tx) => {
      await tx
        .insertInto('organizations')
        .values([DEMO.organization, DEMO.clientOrganization])
        .onConflict((oc) => oc.doNothing())
        .execute();
      await tx
        .insertInto('accounts')
        .values([DEMO.alice, DEMO.bob, DEMO.carla, DEMO.dan])
        .onConflict((oc) => oc.doNothing())
        .execute();
      await tx
        .insertInto('agents')
        .values([DEMO.agentAnna, DEMO.agentTom])
        .onConflict((oc) => oc.doNothing())
        .execute();
      await tx
        .insertInto('memberships')
        .values([
          { organization_id: DEMO.organization.id, account_id: DEMO.alice.id, role: 'legal_representative' },
          { organization_id: DEMO.organization.id, account_id: DEMO.bob.id, role: 'collaborator' },
          { organization_id: DEMO.organization.id, account_id: DEMO.carla.id, role: 'collaborator' },
          { organization_id: DEMO.clientOrganization.id, account_id: DEMO.dan.id, role: 'legal_representative' },
        ])
        .onConflict((oc) => oc.doNothing())
        .execute();
      await tx
        .insertInto('support_tickets')
        .values({ ...DEMO.ticket, organization_id: DEMO.organization.id, opened_by: DEMO.alice.id, assigned_agent_id: DEMO.agentAnna.id })
        .onConflict((oc) => oc.doNothing())
        .execute();
    });
    // P7: Alice and Carla log in with a password too (POST /v1/sessions).
    await db
      .updateTable('accounts')
      .set({ password_hash: await hashPassword('alice-demo-password') })
      .where('id', '=', DEMO.alice.id)
      .where('password_hash', 'is', null)
      .execute();
    await db
      .updateTable('accounts')
      .set({ password_hash: await hashPassword('carla-demo-password') })
      .where('id', '=', DEMO.carla.id)
      .where('password_hash', 'is', null)
      .execute();
    await db
      .insertInto('organization_mail_domains')
      .values({ organization_id: DEMO.organization.id, domain: 'shop.example' })
      .onConflict((oc) => oc.doNothing())
      .execute();
    // P14: a hosting due in 45 days, and a saved card, to try renewals with.
    await db
      .updateTable('organizations')
      .set({ payment_card_ref: 'card_demo_visa' })
      .where('id', '=', DEMO.organization.id)
      .where('payment_card_ref', 'is', null)
      .execute();
    await db
      .insertInto('products')
      .values({
        id: DEMO_HOSTING_ID,
        organization_id: DEMO.organization.id,
        order_line_id: null,
        product_type: 'web_hosting',
        name: 'Hosting shop.test',
        due_at: new Date(Date.now() + 45 * 86_400_000),
        renewal_price_cents: 12_000,
        currency: 'CHF',
        max_terms_ahead: 3,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const secret = loadAuthSecret(config);
    const token = async (role: 'customer' | 'agent' | 'system', sub: string) =>
      (await issueBearerToken({ db, authSecret: secret }, { role, sub }, SEED_TOKEN_LIFETIME_MS)).token;
    console.log(`# Seeded organization ${DEMO.organization.id} (${DEMO.organization.name}) and ticket ${DEMO.ticket.id}, assigned to Anna.\n`);
    console.log(`export ALICE=${await token('customer', DEMO.alice.id)}   # customer, legal representative`);
    console.log(`export BOB=${await token('customer', DEMO.bob.id)}   # customer, collaborator`);
    console.log(`export ANNA=${await token('agent', DEMO.agentAnna.id)}   # agent, the ticket's assignee`);
    console.log(`export TOM=${await token('agent', DEMO.agentTom.id)}   # agent, not assigned`);
    console.log(`export SYSTEM=${await token('system', 'scheduler')}   # system`);
    console.log(`export ORG=${DEMO.organization.id} TICKET=${DEMO.ticket.id} ALICE_ID=${DEMO.alice.id} BOB_ID=${DEMO.bob.id} CARLA_ID=${DEMO.carla.id}`);
    console.log(`export HOSTING=${DEMO_HOSTING_ID}   # a product due for renewal`);
    console.log(`export DAN=${await token('customer', DEMO.dan.id)}   # customer, legal representative of the client organization`);
    console.log(`export CLIENT_ORG=${DEMO.clientOrganization.id} DAN_ID=${DEMO.dan.id}`);
  } finally {
    await close();
  }
})().catch((err: unknown) => (console.error(err instanceof Error ? err.message : err), process.exit(1)));
