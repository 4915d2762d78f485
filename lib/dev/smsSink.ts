/**
 * A local HTTP peer that answers the twilio client like Twilio's Messages API does, and keeps the
 * messages: the SMS sink of `npm start` and of tests. It checks Basic auth against the account SID
 * and rejects numbers that are not E.164 with Twilio's own error code, so permanent-failure
 * handling is exercised through the real client.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { openInbox } from './inbox';

export interface CapturedSms {
  sid: string;
  receivedAt: string;
  from: string;
  to: string;
  body: string;
}

export interface SmsSink {
  url: string;
  accountSid: string;
  authToken: string;
  messages(): CapturedSms[];
  waitFor(match: (m: CapturedSms) => boolean, timeoutMs?: number): Promise<CapturedSms>;
  /** Makes the next n requests fail with 503, to exercise retries. */
  failNext(n: number): void;
  close(): Promise<void>;
}

export async function startSmsSink(opts: { port?: number; host?: string; file?: string } = {}): Promise<SmsSink> {
  const host = opts.host ?? '127.0.0.1';
  const accountSid = 'AC' + randomUUID().replaceAll('-', '');
  const authToken = randomUUID().replaceAll('-', '');
  const inbox = await openInbox<CapturedSms>(opts.file);
  let failures = 0;

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return reply(res, 404, { code: 20404, message: 'not found', status: 404 });
    const expected = 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64');
    if (match[1] !== accountSid || req.headers.authorization !== expected) {
      return reply(res, 401, { code: 20003, message: 'Authenticate', status: 401 });
    }
    if (failures > 0) {
      failures--;
      return reply(res, 503, { code: 20503, message: 'Service unavailable', status: 503 });
    }
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const form = new URLSearchParams(raw);
    const to = form.get('To') ?? '';
    if (!/^\+[1-9]\d{7,14}$/.test(to)) {
      return reply(res, 400, { code: 21211, message: `The 'To' number ${to} is not a valid phone number.`, status: 400 });
    }
    const sms: CapturedSms = {
      sid: 'SM' + randomUUID().replaceAll('-', ''),
      receivedAt: new Date().toISOString(),
      from: form.get('From') ?? '',
      to,
      body: form.get('Body') ?? '',
    };
    await inbox.add(sms);
    reply(res, 201, {
      sid: sms.sid,
      account_sid: accountSid,
      to: sms.to,
      from: sms.from,
      body: sms.body,
      status: 'queued',
      date_created: new Date().toUTCString(),
    });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => reply(res, 500, { code: 20500, message: 'sink error', status: 500 }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${host}:${port}`,
    accountSid,
    authToken,
    messages: inbox.messages,
    waitFor: inbox.waitFor,
    failNext: (n) => void (failures = n),
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
