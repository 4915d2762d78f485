import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { createActivities } from '../../activities';
import { createMailer } from '../../lib/mailer';
import { createSmsSender } from '../../lib/sms';
import { database, fixtureKeyring, smsSink } from './fixtures';
import { TEST_CALENDAR, testPayments } from './worker';

/**
 * A real SMTP server that answers 451 (try again later) to the first message for each recipient,
 * as a greylisting one does, and 550 to @reject.test. It keeps every message it parsed, refused or
 * not, with its HTML as sent (cid: links kept).
 */
export async function greylistingSmtp() {
  const seen = new Set<string>();
  const messages: { to: string[]; accepted: boolean; mail: ParsedMail }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (/@reject\.test$/.test(address.address)) return callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream, { keepCidLinks: true })
        .then((mail) => {
          const to = session.envelope.rcptTo.map((r) => r.address);
          const first = to.some((a) => !seen.has(a));
          for (const a of to) seen.add(a);
          messages.push({ to, accepted: !first, mail });
          if (first) return callback(Object.assign(new Error('greylisted, try again later'), { responseCode: 451 }));
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    /** Every message to the address, the refused ones too. */
    attempts: (address: string) => messages.filter((m) => m.to.includes(address)),
    /** The messages to the address the server accepted. */
    to: (address: string) => messages.filter((m) => m.accepted && m.to.includes(address)).map((m) => ({ to: m.to, text: m.mail.text ?? '', mail: m.mail })),
    refused: () => messages.filter((m) => !m.accepted).length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The activities as a worker builds them, sending mail to `smtpUrl` and SMS to a local twilio peer. */
export async function activitiesOver(smtpUrl: string, publicUrl = 'http://backoffice.test') {
  const { db } = await database();
  const sink = await smsSink();
  return createActivities({
    db,
    mailer: createMailer(smtpUrl, 'Backoffice <no-reply@backoffice.test>'),
    sms: createSmsSender({ accountSid: sink.accountSid, authToken: sink.authToken, from: '+15005550006', apiUrl: sink.url }),
    clock: { now: () => new Date() },
    config: { publicUrl },
    keyring: fixtureKeyring(),
    verification: { calendar: TEST_CALENDAR, supervisorsEmail: 'supervisors@support.test' },
    payments: testPayments,
  });
}
