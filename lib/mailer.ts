/** Email over SMTP with nodemailer: the only way this system sends mail. */
import nodemailer from 'nodemailer';

/** An image shown inside the HTML part (`<img src="cid:…">`), not offered as a download. */
export interface InlineImage {
  cid: string;
  filename: string;
  contentType: 'image/png';
  content: Buffer;
}

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  /** With `html`, the message is multipart/alternative: the text part, and the HTML part with its inline images. */
  html?: string;
  inlineImages?: InlineImage[];
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
      const info = await transport.sendMail({
        from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        ...(mail.html === undefined ? {} : { html: mail.html }),
        attachments: (mail.inlineImages ?? []).map((i) => ({
          cid: i.cid,
          filename: i.filename,
          contentType: i.contentType,
          content: i.content,
          contentDisposition: 'inline' as const,
        })),
        messageId: mail.messageId,
      });
      return { providerMessageId: String(info.messageId) };
    },
    close: () => transport.close(),
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The HTML part of a text email: its paragraphs as written, links clickable, and the QR code image
 * right under the line that is its link (issue 17, item 10: the code is in the email, not behind a link).
 */
export function htmlOfText(text: string, qr?: { link: string; cid: string }): string {
  const line = (l: string) => {
    const linked = escapeHtml(l).replace(/https?:\/\/[^\s<>"']+/g, (url) => `<a href="${url}">${url}</a>`);
    if (!qr || l.trim() !== qr.link) return linked;
    return `${linked}<br><img src="cid:${escapeHtml(qr.cid)}" alt="QR code of the link above" width="240" height="240">`;
  };
  const paragraphs = text.split(/\n{2,}/).map((p) => `<p>${p.split('\n').map(line).join('<br>\n')}</p>`);
  return `<!doctype html>\n<html><body>\n${paragraphs.join('\n')}\n</body></html>\n`;
}

/** SMTP replies 5xx (and nodemailer's envelope errors) will never succeed on retry. */
export function isPermanentMailError(err: unknown): boolean {
  const e = err as { responseCode?: number; code?: string };
  if (typeof e?.responseCode === 'number') return e.responseCode >= 500 && e.responseCode < 600;
  return e?.code === 'EENVELOPE';
}
