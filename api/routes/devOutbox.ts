/**
 * GET /dev/outbox: what the embedded SMTP capture and SMS sink received, as JSON or, for a browser,
 * as a page. Mounted only by `npm start` when it runs those local peers (never in production).
 */
import express from 'express';
import type { SmtpCapture } from '../../lib/dev/smtpCapture';
import type { SmsSink } from '../../lib/dev/smsSink';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function devOutboxRouter(peers: { smtp?: SmtpCapture; sms?: SmsSink }): express.Router {
  const router = express.Router();
  router.get('/outbox', (req, res) => {
    const emails = (peers.smtp?.messages() ?? []).reverse();
    const sms = (peers.sms?.messages() ?? []).reverse();
    if (req.accepts(['json', 'html']) !== 'html') return void res.json({ emails, sms });
    const rows = [
      ...emails.map(
        (m) =>
          `<article><h3>✉ ${escape(m.subject)}</h3><p><small>${escape(m.receivedAt)} → ${escape(m.to.join(', '))}</small></p><pre>${escape(m.text)}</pre>${(m.inlineImages ?? []).map((i) => `<p><img alt="inline image ${escape(i.cid)}" src="data:${escape(i.contentType)};base64,${i.base64}"></p>`).join('')}</article>`,
      ),
      ...sms.map((m) => `<article><h3>📱 SMS to ${escape(m.to)}</h3><p><small>${escape(m.receivedAt)}</small></p><pre>${escape(m.body)}</pre></article>`),
    ];
    res.type('html').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>Dev outbox</title>
<style>body{font:15px system-ui;margin:2rem auto;max-width:60rem}article{border:1px solid #ccc;border-radius:6px;padding:0 1rem;margin:1rem 0}pre{white-space:pre-wrap}</style></head>
<body><h1>Dev outbox</h1><p>${emails.length} emails, ${sms.length} SMS, newest first. JSON: <code>curl -H 'Accept: application/json' …/dev/outbox</code></p>${rows.join('\n') || '<p>Nothing sent yet.</p>'}</body></html>`);
  });
  return router;
}
