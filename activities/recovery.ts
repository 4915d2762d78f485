/**
 * Side effects of the recovery processes (issue 5, P3–P8). Codes and tokens are minted here, once
 * per outbox key, stored as keyed hashes, sent through the outbox and redacted from it once sent. Every step is
 * idempotent: minting is conditional on the row's state, messages have outbox keys.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'kysely';
import { audit } from '../db/repositories/audit';
import { enqueue, findByKey, markSecret } from '../db/repositories/outbox';
import { recoveryCodeScope } from '../db/repositories/recovery';
import { revokeAllCredentials } from '../db/repositories/sessions';
import { accountSecrets, newToken, tokenHash } from '../lib/accountSecrets';
import { newSixDigitCode } from '../lib/otp';
import { API_TOKEN_IDLE_DEACTIVATION_MS, PASSWORD_RESET_LINK_VALIDITY_MS, RECOVERY_CODE_VALIDITY_MS, describeDuration } from '../lib/rules';
import { FailureType } from '../workflows/shared/failures';
import type { AccountNoticeInput, SecurityCaseReason } from '../workflows/shared/recovery';
import type { ActivityDeps } from './deps';
import { deliverIfPossible, type createNotificationActivities } from './notifications';

/** The reset link opens the page (api/pages/recovery.ts); POST /v1/recovery/password/:token stays for the Manager. */
export const passwordResetUrl = (publicUrl: string, token: string) => `${publicUrl}/reset-password/${token}`;

const NOTICES: Record<AccountNoticeInput['kind'], { subject: string; body: string[] }> = {
  password_reset: {
    subject: 'Your password was reset',
    body: ['The password of your account was reset through the forgotten-password procedure, and every session was ended.'],
  },
  password_changed: {
    subject: 'Your password was changed',
    body: ['The password of your account was changed as compromised: application passwords and API tokens were revoked and your other sessions ended.'],
  },
  two_factor_disabled: {
    subject: 'Two-factor authentication is off',
    body: [
      'Two-factor authentication was disabled on your account.',
      'Please secure your account again: switch two-factor authentication back on with your new device.',
    ],
  },
  account_unlocked: { subject: 'Your account is unlocked', body: ['Your account was unlocked. If the failed logins were not yours, change your password.'] },
  login_email_changed: {
    subject: 'Your login address was changed',
    body: ['The login address of your account was changed. Your recovery username no longer works.'],
  },
  password_updated: {
    subject: 'Your password was changed',
    body: ['The password of your account was changed by its holder, and your other sessions ended. Application passwords and API tokens still work.'],
  },
  recovery_email_changed: {
    subject: 'Your recovery email was changed',
    body: ['The recovery email of your account was changed: password and login recovery now write to the new address.'],
  },
  mobile_phone_changed: {
    subject: 'Your mobile number was changed',
    body: ['The mobile number of your account was changed: recovery codes now go to the new number.'],
  },
  login_succeeded: {
    subject: 'New login to your account',
    body: ['Someone logged in to your account with its password. You asked to be told of every successful login.'],
  },
  login_failed: {
    subject: 'Failed login to your account',
    body: [
      'Someone tried to log in to your account with a wrong password or second factor. You asked to be told of every failed login.',
      'If this was not you, change your password.',
    ],
  },
};

/** Login alerts (issue 17, item 5): when and from what kind of client; never the password or the address. */
const eventLines = (at: string | undefined, client: string | null | undefined) =>
  at ? ['', `When: ${at.slice(0, 16).replace('T', ' ')} UTC`, `Client: ${client ?? 'not recognised'}`] : [];

export function createRecoveryActivities(
  { db, clock, keyring, config }: ActivityDeps,
  { deliverNotification }: ReturnType<typeof createNotificationActivities>,
) {
  const secrets = accountSecrets(keyring);
  const deliver = (key: string) => deliverIfPossible(deliverNotification, key);

  const requestOrFail = async (requestId: string) => {
    const r = await db.selectFrom('recovery_requests').selectAll().where('id', '=', requestId).executeTakeFirst();
    if (!r) throw ApplicationFailure.nonRetryable(`recovery request ${requestId} not found`, FailureType.NotFound);
    return r;
  };
  const accountOf = (accountId: string | null) =>
    accountId
      ? db
          .selectFrom('accounts')
          .select(['id', 'login_email', 'display_name', 'recovery_email', 'mobile_phone', 'recovery_username', 'login_address_lost_at'])
          .where('id', '=', accountId)
          .executeTakeFirst()
      : Promise.resolve(undefined);

  /**
   * Mints a reset token and emails its link, once per outbox key: a retry sends what was queued, with
   * the same token, and the outbox keeps no copy once it is out. `replace`: a fresh link (after an
   * identity check) voids an earlier unused one; otherwise a request gets one link.
   */
  async function mintAndSendLink(requestId: string, key: string, recipient: string, name: string, opts: { replace?: boolean } = {}): Promise<void> {
    const token = newToken();
    const queued = await db.transaction().execute(async (trx) => {
      const r = await trx
        .selectFrom('recovery_requests')
        .select(['token_hash', 'token_used_at', 'closed_at'])
        .where('id', '=', requestId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (await findByKey(trx, key)) return true;
      if (r.closed_at || r.token_used_at || (r.token_hash && !opts.replace)) return false;
      await trx
        .updateTable('recovery_requests')
        .set({ token_hash: tokenHash(token), token_expires_at: new Date(clock.now().getTime() + PASSWORD_RESET_LINK_VALIDITY_MS) })
        .where('id', '=', requestId)
        .execute();
      await enqueue(trx, {
        key,
        channel: 'email',
        recipient,
        subject: 'Reset your password',
        body: [
          `Hello ${name},`,
          '',
          `Someone asked to reset the password of your account. If it was you, choose a new password here within ${describeDuration(PASSWORD_RESET_LINK_VALIDITY_MS)}:`,
          passwordResetUrl(config.publicUrl, markSecret(token)),
          '',
          'The link works once. If you did not ask for it, ignore this email: your password stays as it is.',
          'Resetting your password does not switch off two-factor authentication.',
        ].join('\n'),
      });
      return true;
    });
    if (queued) await deliver(key);
  }

  /**
   * Mints a 6-digit code (10 minutes from the request, 5 tries) and sends it, once per outbox key: a
   * retry sends what was queued, with the same code, and the outbox keeps no copy once it is out.
   * Unmatched requests get no code; their clock started with the request (requests made before it
   * did get it here).
   */
  async function mintAndSendCode(
    requestId: string,
    key: string,
    to: { channel: 'sms' | 'email'; recipient: string } | undefined,
    text: (code: string) => { subject: string; body: string },
  ): Promise<boolean> {
    const code = newSixDigitCode();
    const queued = await db.transaction().execute(async (trx) => {
      const r = await trx
        .selectFrom('recovery_requests')
        .select(['code_expires_at', 'closed_at'])
        .where('id', '=', requestId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (to && (await findByKey(trx, key))) return true;
      if (r.closed_at) return false;
      const expiresAt = r.code_expires_at ?? new Date(clock.now().getTime() + RECOVERY_CODE_VALIDITY_MS);
      if (!to) {
        if (!r.code_expires_at) await trx.updateTable('recovery_requests').set({ code_expires_at: expiresAt }).where('id', '=', requestId).execute();
        return false;
      }
      await trx
        .updateTable('recovery_requests')
        .set({ code_hash: secrets.codeHash(recoveryCodeScope(requestId), code), code_expires_at: expiresAt })
        .where('id', '=', requestId)
        .execute();
      const m = text(markSecret(code));
      await enqueue(trx, {
        key,
        channel: to.channel,
        recipient: to.recipient,
        subject: to.channel === 'email' ? m.subject : null,
        body: to.channel === 'email' ? m.body : `${m.subject}: ${m.body}`,
      });
      return true;
    });
    if (!to || !queued) return false;
    return deliver(key);
  }

  /**
   * Sends what the request asked for when an account matched and has the channel. `clock` is the
   * one the process runs on and follows from the request alone, so an unmatched request closes when
   * a matched one would (issue 14): a password request by email waits an hour for its link, any
   * other request 10 minutes for its code.
   */
  async function beginRecovery({ requestId }: { requestId: string }): Promise<{ sent: 'code' | 'link' | null; clock: 'code' | 'link' }> {
    const r = await requestOrFail(requestId);
    const a = await accountOf(r.account_id);
    if (r.kind === 'password' && r.channel === 'email') {
      if (!a?.recovery_email) return { sent: null, clock: 'link' };
      await mintAndSendLink(requestId, `recovery:${requestId}:link`, a.recovery_email, a.display_name);
      return { sent: 'link', clock: 'link' };
    }
    const to = a?.mobile_phone ? { channel: 'sms' as const, recipient: a.mobile_phone } : undefined;
    const purpose = r.kind === 'login_email' ? 'to recover your login' : 'to reset your password';
    const sent = await mintAndSendCode(requestId, `recovery:${requestId}:code`, to, (code) => ({
      subject: `Your code ${purpose}`,
      body: `${code}. Valid ${RECOVERY_CODE_VALIDITY_MS / 60_000} minutes. Never share it; we never ask for it by phone.`,
    }));
    return { sent: sent ? 'code' : null, clock: 'code' };
  }

  async function expireRecoveryCode({ requestId }: { requestId: string }): Promise<void> {
    await db.updateTable('recovery_requests').set({ code_hash: null }).where('id', '=', requestId).execute();
  }

  async function expireRecoveryToken({ requestId }: { requestId: string }): Promise<void> {
    await db.updateTable('recovery_requests').set({ token_hash: null }).where('id', '=', requestId).execute();
  }

  async function closeRecoveryRequest({ requestId }: { requestId: string }): Promise<void> {
    await db
      .updateTable('recovery_requests')
      .set({ code_hash: null, token_hash: null, closed_at: clock.now() })
      .where('id', '=', requestId)
      .where('closed_at', 'is', null)
      .execute();
  }

  /** P3: the login identifier, to the channel the confirmed holder chose ('all' after identity verification). */
  async function deliverLoginIdentifier({ requestId, channel }: { requestId: string; channel: 'sms' | 'email' | 'all' }): Promise<void> {
    const r = await requestOrFail(requestId);
    const a = await accountOf(r.account_id);
    if (!a) return;
    const login = a.login_address_lost_at && a.recovery_username ? a.recovery_username : a.login_email;
    const targets: { channel: 'sms' | 'email'; recipient: string }[] = [];
    if ((channel === 'sms' || channel === 'all') && a.mobile_phone) targets.push({ channel: 'sms', recipient: a.mobile_phone });
    if ((channel === 'email' || channel === 'all') && a.recovery_email) targets.push({ channel: 'email', recipient: a.recovery_email });
    if (channel === 'all' && !a.login_address_lost_at) targets.push({ channel: 'email', recipient: a.login_email });
    for (const t of targets) {
      const key = `recovery:${requestId}:login:${t.channel}:${t.recipient === a.login_email ? 'login' : 'recovery'}`;
      await enqueue(db, {
        key,
        channel: t.channel,
        recipient: t.recipient,
        subject: 'Your login',
        body:
          t.channel === 'sms'
            ? `Your login is ${login}`
            : [
                `Hello ${a.display_name},`,
                '',
                `As you asked, the login of your account is: ${login}`,
                '',
                'If you did not ask for it, change your password.',
              ].join('\n'),
      });
      await deliver(key);
    }
    await audit(db, {
      actor_type: 'system',
      actor_id: 'recovery',
      action: 'recovery.login_delivered',
      subject_type: 'account',
      subject_id: a.id,
      decision: null,
      details: { requestId, channel },
    });
  }

  /** The case id is fixed on the request the first time, so a retry opens the same case. */
  async function openRecoveryVerification({ requestId }: { requestId: string }): Promise<{ accountId: string | null; caseId: string | null }> {
    await db
      .updateTable('recovery_requests')
      .set({ verification_case_id: randomUUID() })
      .where('id', '=', requestId)
      .where('verification_case_id', 'is', null)
      .where('account_id', 'is not', null)
      .execute();
    const r = await requestOrFail(requestId);
    return { accountId: r.account_id, caseId: r.verification_case_id };
  }

  /** P4 after an approved identity check: the reset link goes to the recovery address, else the login address. */
  async function sendPasswordResetLink({ requestId }: { requestId: string }): Promise<void> {
    const r = await requestOrFail(requestId);
    const a = await accountOf(r.account_id);
    if (!a) return;
    // A retry finds the link it queued and sends that one: minting again would void the emailed token.
    await mintAndSendLink(requestId, `recovery:${requestId}:link:verified`, a.recovery_email ?? a.login_email, a.display_name, { replace: true });
  }

  /** A code to the new login address; an address that is already someone's login gets a warning, not a code. */
  async function sendLoginEmailCode({ requestId }: { requestId: string }): Promise<void> {
    const r = await requestOrFail(requestId);
    // The same process confirms a new recovery email or mobile number (issue 17, item 2): a code to it, nothing else.
    if (r.kind === 'recovery_email' && r.pending_email) {
      await mintAndSendCode(requestId, `recovery:${requestId}:code`, { channel: 'email', recipient: r.pending_email }, (code) => ({
        subject: 'Confirm your new recovery email',
        body: `Your code to confirm this address as the recovery email of your account is ${code}. It is valid ${describeDuration(RECOVERY_CODE_VALIDITY_MS)}.`,
      }));
      return;
    }
    if (r.kind === 'mobile_phone' && r.pending_phone) {
      await mintAndSendCode(requestId, `recovery:${requestId}:code`, { channel: 'sms', recipient: r.pending_phone }, (code) => ({
        subject: 'Your code to confirm this mobile number',
        body: `${code}. Valid ${describeDuration(RECOVERY_CODE_VALIDITY_MS)}. Never share it; we never ask for it by phone.`,
      }));
      return;
    }
    if (!r.pending_email) return;
    const taken = await db
      .selectFrom('accounts')
      .select('id')
      .where((eb) => eb(eb.fn('lower', ['login_email']), '=', r.pending_email!.toLowerCase()))
      .where('id', '!=', r.account_id)
      .executeTakeFirst();
    if (taken) {
      const key = `recovery:${requestId}:taken`;
      await enqueue(db, {
        key,
        channel: 'email',
        recipient: r.pending_email,
        subject: 'This address is already a login',
        body: 'Someone asked to make this address the login of an account, but it already is the login of an account. Nothing was changed.',
      });
      await deliver(key);
      await mintAndSendCode(requestId, `recovery:${requestId}:code`, undefined, () => ({ subject: '', body: '' }));
      return;
    }
    await mintAndSendCode(requestId, `recovery:${requestId}:code`, { channel: 'email', recipient: r.pending_email }, (code) => ({
      subject: 'Confirm your new login address',
      body: `Your code to confirm this address as your login is ${code}. It is valid ${RECOVERY_CODE_VALIDITY_MS / 60_000} minutes.`,
    }));
  }

  const lostState = async (accountId: string) => {
    const a = await accountOf(accountId);
    if (!a) throw ApplicationFailure.nonRetryable(`account ${accountId} not found`, FailureType.NotFound);
    return a.login_address_lost_at && a.recovery_username ? { ...a, lostAt: a.login_address_lost_at, username: a.recovery_username } : undefined;
  };

  /** P5: an email to the recovery address and an SMS with the recovery username. */
  async function sendLoginAddressLostNotices({ accountId }: { accountId: string }): Promise<void> {
    const a = await lostState(accountId);
    if (!a) return;
    const base = `login-address-lost:${accountId}:${a.lostAt.getTime()}`;
    if (a.recovery_email) {
      await enqueue(db, {
        key: `${base}:email`,
        channel: 'email',
        recipient: a.recovery_email,
        subject: 'Your login address is being changed',
        body: [
          `Hello ${a.display_name},`,
          '',
          'The mail address you used to log in was deleted or its Mail Service cancelled, so it no longer works as your login.',
          'We sent you a username by SMS. Log in with it and your unchanged password, then enter your new login address.',
        ].join('\n'),
      });
      await deliver(`${base}:email`);
    }
    if (a.mobile_phone) {
      await enqueue(db, {
        key: `${base}:sms`,
        channel: 'sms',
        recipient: a.mobile_phone,
        body: `Your login address no longer works. Log in with the username ${a.username} and your usual password, then choose a new login address.`,
      });
      await deliver(`${base}:sms`);
    }
  }

  async function remindLoginAddressLost({ accountId, reminder }: { accountId: string; reminder: number }): Promise<boolean> {
    const a = await lostState(accountId);
    if (!a) return false;
    const key = `login-address-lost:${accountId}:${a.lostAt.getTime()}:reminder:${reminder}`;
    const to = a.recovery_email
      ? { channel: 'email' as const, recipient: a.recovery_email }
      : a.mobile_phone
        ? { channel: 'sms' as const, recipient: a.mobile_phone }
        : undefined;
    if (!to) return true;
    await enqueue(db, {
      key,
      channel: to.channel,
      recipient: to.recipient,
      subject: to.channel === 'email' ? 'Reminder: choose a new login address' : null,
      body: `Reminder: your login address no longer works. Log in with the username ${a.username} and your usual password, then choose a new login address.`,
    });
    await deliver(key);
    return true;
  }

  /** P6, P7: the one place where an approved case disables 2FA or unlocks the account. */
  async function applyApprovedSecurityCase({ accountId, reason, caseId }: { accountId: string; reason: SecurityCaseReason; caseId: string }): Promise<void> {
    const c = await db.selectFrom('verification_cases').select(['status', 'reason', 'account_id']).where('id', '=', caseId).executeTakeFirst();
    if (!c || c.status !== 'approved' || c.reason !== reason || c.account_id !== accountId)
      throw ApplicationFailure.nonRetryable(`case ${caseId} is not an approved ${reason} case of this account`, FailureType.NotFound);
    await db.transaction().execute(async (trx) => {
      // A retry after a commit must not revoke what the holder minted since: the case applies once.
      const applied = await trx
        .selectFrom('audit_log')
        .select('id')
        .where('subject_type', '=', 'account')
        .where('subject_id', '=', accountId)
        .where('action', '=', 'account.credentials_revoked')
        .where(sql<string>`details->>'eventId'`, '=', caseId)
        .executeTakeFirst();
      if (applied) return;
      if (reason === 'disable_2fa') {
        await trx
          .updateTable('accounts')
          .set({ totp_secret_sealed: null, totp_pending_sealed: null, two_factor_enabled_at: null })
          .where('id', '=', accountId)
          .execute();
        await trx.deleteFrom('backup_codes').where('account_id', '=', accountId).execute();
      } else {
        await trx.updateTable('accounts').set({ locked_at: null, failed_logins: 0 }).where('id', '=', accountId).execute();
      }
      const actor = { actor_type: 'system' as const, actor_id: `verification:${caseId}` };
      await audit(trx, {
        ...actor,
        action: reason === 'disable_2fa' ? 'account.two_factor_disabled' : 'account.unlocked',
        subject_type: 'account',
        subject_id: accountId,
        decision: null,
        details: { caseId },
      });
      // Whoever holds the lost device, or tried the password, must keep nothing minted before (issue 14, item 2).
      await revokeAllCredentials(trx, accountId, {
        reason: reason === 'disable_2fa' ? 'two_factor_disabled_by_case' : 'unlocked_by_case',
        now: clock.now(),
        actor,
        eventId: caseId,
      });
    });
    await sendAccountNotice({ accountId, kind: reason === 'disable_2fa' ? 'two_factor_disabled' : 'account_unlocked', eventId: caseId });
  }

  async function sendAccountNotice({ accountId, kind, eventId, at, client }: AccountNoticeInput): Promise<void> {
    const a = await accountOf(accountId);
    if (!a) return;
    const n = NOTICES[kind];
    const recipients = [...new Set([a.login_address_lost_at ? null : a.login_email, a.recovery_email].filter((x): x is string => !!x))];
    for (const [i, recipient] of recipients.entries()) {
      const key = `account-notice:${accountId}:${kind}:${eventId}:${i}`;
      await enqueue(db, {
        key,
        channel: 'email',
        recipient,
        subject: n.subject,
        body: [`Hello ${a.display_name},`, '', ...n.body, ...eventLines(at, client), '', 'If this was not you, contact our support team at once.'].join('\n'),
      });
      await deliver(key);
    }
    if (kind === 'recovery_email_changed' || kind === 'mobile_phone_changed') await tellPreviousContact(a, kind, eventId, recipients);
  }

  /**
   * Issue 17, item 2: the recovery email or mobile number a change replaced is told too, since whoever
   * changed it may not be the holder. The old detail was kept on the request for this message and
   * is erased once the message is queued.
   */
  async function tellPreviousContact(
    a: { id: string; display_name: string },
    kind: 'recovery_email_changed' | 'mobile_phone_changed',
    requestId: string,
    alreadyTold: string[],
  ): Promise<void> {
    const key = `account-notice:${a.id}:${kind}:${requestId}:previous`;
    const queued = await db.transaction().execute(async (trx) => {
      if (await findByKey(trx, key)) return true;
      const r = await trx.selectFrom('recovery_requests').select('previous_contact').where('id', '=', requestId).forUpdate().executeTakeFirst();
      const previous = r?.previous_contact;
      if (!previous || alreadyTold.includes(previous)) return false;
      const n = NOTICES[kind];
      await enqueue(trx, {
        key,
        channel: kind === 'mobile_phone_changed' ? 'sms' : 'email',
        recipient: previous,
        subject: kind === 'mobile_phone_changed' ? null : n.subject,
        body:
          kind === 'mobile_phone_changed'
            ? `${n.subject}. If this was not you, contact our support team at once.`
            : [`Hello ${a.display_name},`, '', ...n.body, '', 'If this was not you, contact our support team at once.'].join('\n'),
      });
      await trx.updateTable('recovery_requests').set({ previous_contact: null }).where('id', '=', requestId).execute();
      return true;
    });
    if (queued) await deliver(key);
  }

  /** P8: tokens unused for a year (by `asOf`) are deactivated; expired ones are marked so too. */
  async function deactivateIdleApiTokens({ asOf }: { asOf: string }): Promise<{ deactivated: number; expired: number }> {
    const now = new Date(asOf);
    const idleSince = new Date(now.getTime() - API_TOKEN_IDLE_DEACTIVATION_MS);
    const idle = await db
      .updateTable('access_tokens')
      .set({ deactivated_at: now })
      .where('kind', '=', 'api_token')
      .where('revoked_at', 'is', null)
      .where('deactivated_at', 'is', null)
      .where(sql<Date>`coalesce(last_used_at, created_at)`, '<', idleSince)
      .executeTakeFirst();
    const expired = await db
      .updateTable('access_tokens')
      .set({ deactivated_at: now })
      .where('revoked_at', 'is', null)
      .where('deactivated_at', 'is', null)
      .where('expires_at', '<=', now)
      .executeTakeFirst();
    const counts = { deactivated: Number(idle.numUpdatedRows), expired: Number(expired.numUpdatedRows) };
    await audit(db, {
      actor_type: 'system',
      actor_id: 'api-token-sweep',
      action: 'api_tokens.swept',
      subject_type: 'access_tokens',
      subject_id: asOf,
      decision: null,
      details: counts,
    });
    return counts;
  }

  return {
    beginRecovery,
    expireRecoveryCode,
    expireRecoveryToken,
    closeRecoveryRequest,
    deliverLoginIdentifier,
    openRecoveryVerification,
    sendPasswordResetLink,
    sendLoginEmailCode,
    sendLoginAddressLostNotices,
    remindLoginAddressLost,
    applyApprovedSecurityCase,
    sendAccountNotice,
    deactivateIdleApiTokens,
  };
}
