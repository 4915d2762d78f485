/** Email over SMTP with nodemailer: the only way this system sends mail. */
import nodemailer from 'nodemailer';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  /** Stable Message-ID derived from the outbox key, so a retried send is recognisably the same message. */
  messageId: string;
}

export interface Mailer {
  send(mail: OutgoingEmail): Promise<{ providerMessageId: string }>;
  close(): void;
}

export function createMailer(smtpUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(mail) {
      const info = await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, messageId: mail.messageId });
      return { providerMessageId: String(info.messageId) };
    },
    close: () => transport.close(),
  };
}

/** SMTP replies 5xx (and nodemailer's envelope errors) will never succeed on retry. */
export function isPermanentMailError(err: unknown): boolean {
  const e = err as { responseCode?: number; code?: string };
  if (typeof e?.responseCode === 'number') return e.responseCode >= 500 && e.responseCode < 600;
  return e?.code === 'EENVELOPE';
}
