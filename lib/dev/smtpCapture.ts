/**
 * A local SMTP server that keeps what it receives: the mail catcher of `npm start` and of tests.
 * Messages are parsed and kept in memory, and appended to a file when one is given so a restart
 * still shows them.
 */
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { openInbox } from './inbox';

export interface CapturedEmail {
  id: number;
  receivedAt: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  messageId: string | null;
}

export interface SmtpCapture {
  url: string;
  port: number;
  messages(): CapturedEmail[];
  /** Resolves with the first message (already received or arriving) that matches. */
  waitFor(match: (m: CapturedEmail) => boolean, timeoutMs?: number): Promise<CapturedEmail>;
  close(): Promise<void>;
}

export async function startSmtpCapture(opts: { port?: number; host?: string; file?: string; rejectRecipients?: RegExp } = {}): Promise<SmtpCapture> {
  const host = opts.host ?? '127.0.0.1';
  const inbox = await openInbox<CapturedEmail>(opts.file);

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (opts.rejectRecipients?.test(address.address)) {
        return callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then(async (parsed) => {
          const mail: CapturedEmail = {
            id: inbox.messages().length + 1,
            receivedAt: new Date().toISOString(),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            messageId: parsed.messageId ?? null,
          };
          await inbox.add(mail);
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;

  return {
    url: `smtp://${host}:${port}`,
    port,
    messages: inbox.messages,
    waitFor: inbox.waitFor,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
