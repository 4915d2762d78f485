/**
 * GET /dev/payments: the local payment provider's ledger (every charge, refund and decline it
 * executed, and how many calls reached it) beside the books, reconciled per invoice and order.
 * JSON with `Accept: application/json`, a page otherwise. Never mounted in production.
 */
import express from 'express';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { localProviderLedger } from '../services/payments';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const money = (cents: number, currency: string) => `${(cents / 100).toFixed(2)} ${currency}`;

export function devPaymentsRouter(db: Kysely<Database>): express.Router {
  const router = express.Router();
  router.get('/payments', async (req, res) => {
    const { operations, calls, books } = await localProviderLedger(db);
    const mismatches = books.filter((r) => r.providerCents !== r.booksCents && r.inFlight === 0);
    const body = {
      operations: operations.map((o) => ({
        kind: o.kind,
        outcome: o.outcome,
        idempotencyKey: o.idempotency_key,
        providerId: o.provider_id,
        amountCents: o.amount_cents,
        currency: o.currency,
        means: o.means,
        reason: o.reason,
        at: o.created_at.toISOString(),
      })),
      calls,
      reconciliation: books,
      mismatches,
    };
    if (req.accepts(['json', 'html']) !== 'html') return void res.json(body);
    const opRows = body.operations
      .map(
        (o) =>
          `<tr class="${o.outcome}"><td>${escape(o.at)}</td><td>${o.kind}</td><td>${o.outcome}</td><td class="n">${money(o.amountCents, o.currency)}</td><td><code>${escape(o.idempotencyKey)}</code></td><td>${escape(o.reason ?? '')}</td></tr>`,
      )
      .join('\n');
    const recRows = books
      .map(
        (r) =>
          `<tr class="${r.providerCents === r.booksCents ? '' : r.inFlight ? 'flight' : 'bad'}"><td>${r.subject}</td><td><code>${r.id}</code></td><td class="n">${money(r.providerCents, r.currency)}</td><td class="n">${money(r.booksCents, r.currency)}</td><td>${r.providerCents === r.booksCents ? '✓' : r.inFlight ? 'in flight' : '✗ mismatch'}</td></tr>`,
      )
      .join('\n');
    res.type('html').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>Dev payments</title>
<style>body{font:15px system-ui;margin:2rem auto;max-width:70rem}table{border-collapse:collapse;width:100%;margin-bottom:2rem}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}td.n{text-align:right}tr.declined{color:#a60}tr.refunded{color:#06c}tr.bad{background:#fdd}tr.flight{background:#ffd}</style></head>
<body><h1>Dev payments: the local provider's ledger</h1>
<p>${mismatches.length ? `<strong>${mismatches.length} mismatch(es) between the provider and the books.</strong>` : 'Provider and books agree.'} Calls that reached the provider: ${body.calls.map((c) => `${c.kind} ${c.result} ${c.count}`).join(', ') || 'none'}. JSON: <code>curl -H 'Accept: application/json' …/dev/payments</code></p>
<h2>Reconciliation (net money at the provider vs. in the books)</h2><table><tr><th>subject</th><th>id</th><th>provider</th><th>books</th><th></th></tr>${recRows || '<tr><td colspan="5">No card payment yet.</td></tr>'}</table>
<h2>Operations, newest first</h2><table><tr><th>at</th><th>kind</th><th>outcome</th><th>amount</th><th>idempotency key</th><th>reason</th></tr>${opRows || '<tr><td colspan="6">Nothing yet.</td></tr>'}</table></body></html>`);
  });
  return router;
}
