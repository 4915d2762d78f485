/**
 * Login alerts (P7, issue 17, item 5): the holder chooses emails on failed logins, on successful
 * ones, both or none [003]. Each event gets its own accountNotice, queued by the very statement that
 * records the login (db/repositories/sessions.ts), so an alert is never lost to a crash between the
 * two and an unknown login, which has no setting to read, runs the same statement and queues nothing.
 *
 * The email says when and from what kind of client, never the password or the address: the client
 * is named from a fixed vocabulary (browser and system families), so nothing the caller typed into
 * a header reaches the holder's mailbox, and the command row holds nothing personal.
 */
import { randomUUID } from 'node:crypto';
import type { LoginAlert } from '../../db/repositories/sessions';
import { accountNoticeWorkflowId, type AccountNoticeInput } from '../../workflows/shared/recovery';

const BROWSERS: [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bChrome\/|\bCriOS\//, 'Chrome'],
  [/\bVersion\/[\d.]+ .*Safari\//, 'Safari'],
  [/^curl\//, 'curl'],
];
const SYSTEMS: [RegExp, string][] = [
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bLinux\b/, 'Linux'],
];

/** "Firefox on Linux", "an unknown browser on Windows", or null when the client said nothing recognisable. */
export function describeClient(userAgent: string | undefined): string | null {
  if (!userAgent) return null;
  const ua = userAgent.slice(0, 512);
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1];
  const system = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  if (!browser && !system) return null;
  return system ? `${browser ?? 'an unknown browser'} on ${system}` : browser!;
}

/** The alert of one login event, for whichever account the statement finds (none for an unknown login). */
export function loginAlert(taskQueue: string, kind: 'login_succeeded' | 'login_failed', e: { at: Date; client: string | null }): LoginAlert {
  const eventId = randomUUID();
  return {
    when: kind === 'login_failed' ? ['failures', 'all'] : ['successes', 'all'],
    command: (accountId) => {
      const n: AccountNoticeInput = { accountId, kind, eventId, at: e.at.toISOString(), client: e.client };
      return { kind: 'start', workflowType: 'accountNotice', workflowId: accountNoticeWorkflowId(n), taskQueue, args: [n] };
    },
  };
}
