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
  /** The MIME type of the message: text/plain, or multipart/alternative when it has an HTML part. */
  contentType: string;
  /** The HTML part as sent (its cid: links kept), if any. */
  html: string | null;
  /** The images sent with Content-Disposition inline for its HTML part to show by cid (issue 17, item 10: the QR code of a link). */
  inlineImages: { cid: string; contentType: string; base64: string }[];
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
      simpleParser(stream, { keepCidLinks: true })
        .then(async (parsed) => {
          const mail: CapturedEmail = {
            id: inbox.messages().length + 1,
            receivedAt: new Date().toISOString(),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            contentType: (parsed.headers.get('content-type') as { value?: string } | undefined)?.value ?? 'text/plain',
            html: typeof parsed.html === 'string' ? parsed.html : null,
            inlineImages: parsed.attachments
              .filter((a) => a.contentDisposition === 'inline' && a.cid && a.contentType.startsWith('image/'))
              .map((a) => ({ cid: a.cid!, contentType: a.contentType, base64: a.content.toString('base64') })),
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
