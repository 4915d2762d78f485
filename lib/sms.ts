/**
 * SMS through the official twilio client. TWILIO_API_URL redirects its HTTP requests to another
 * origin (the dev sink, a test peer) while everything else (auth, form encoding, errors) stays real.
 */
import twilio from 'twilio';
import RequestClient from 'twilio/lib/base/RequestClient';

export interface SmsSender {
  send(sms: { to: string; body: string }): Promise<{ providerMessageId: string }>;
}

export interface TwilioSettings {
  accountSid: string;
  authToken: string;
  from: string;
  apiUrl?: string;
}

export function createSmsSender(settings: TwilioSettings): SmsSender {
  const httpClient = settings.apiUrl ? redirectingClient(settings.apiUrl) : undefined;
  const client = twilio(settings.accountSid, settings.authToken, { httpClient });
  return {
    async send({ to, body }) {
      const message = await client.messages.create({ to, from: settings.from, body });
      return { providerMessageId: message.sid };
    },
  };
}

function redirectingClient(apiUrl: string): RequestClient {
  const target = new URL(apiUrl);
  class RedirectingRequestClient extends RequestClient {
    override request<T>(opts: RequestClient.RequestOptions<T>) {
      const uri = new URL(opts.uri);
      uri.protocol = target.protocol;
      uri.host = target.host;
      return super.request<T>({ ...opts, uri: uri.toString() });
    }
  }
  return new RedirectingRequestClient();
}

/**
 * Twilio errors that retrying cannot fix: invalid or unsupported numbers, opted-out recipients,
 * and every other 4xx except rate limiting.
 */
export function isPermanentSmsError(err: unknown): boolean {
  const e = err as { status?: number; code?: number };
  if ([21211, 21214, 21408, 21610, 21612, 21614].includes(e?.code ?? 0)) return true;
  return typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.status !== 429;
}
