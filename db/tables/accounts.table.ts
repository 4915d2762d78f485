import type { ColumnType } from 'kysely';

export const LOGIN_ALERTS = ['off', 'failures', 'successes', 'all'] as const;
export type LoginAlerts = (typeof LOGIN_ALERTS)[number];

/** A person's login. Holds PII: it stays in PostgreSQL, never in workflow payloads or logs. */
export interface AccountsTable {
  id: string;
  login_email: string;
  display_name: string;
  mobile_phone: string | null;
  recovery_email: string | null;
  /** ISO 3166-1 alpha-2, from the account's details; null when never given (issue 18, item 2). */
  country: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: ColumnType<Date, Date | undefined, never>;
  /** scrypt (lib/passwords.ts); null: no password login. */
  password_hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** P7: failed logins in a row; reaching the threshold locks the account. */
  failed_logins: ColumnType<number, number | undefined, number>;
  locked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** P7: emails to the holder about logins: none, failed ones, successful ones, or both. */
  login_alerts: ColumnType<LoginAlerts, LoginAlerts | undefined, LoginAlerts>;
  /** P7: the holder's own lock threshold (lib/rules.ts bounds); null: the platform's. */
  lock_after_failed_logins: ColumnType<number | null, number | null | undefined, number | null>;
  /** 2FA (P6): the TOTP secret, sealed; the pending one waits for its first code. */
  totp_secret_sealed: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>;
  totp_pending_sealed: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>;
  two_factor_enabled_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The last TOTP time step accepted: a code of it or an earlier step is refused (each step once). */
  totp_last_step: ColumnType<number | null, number | null | undefined, number | null>;
  /** P5: the SMS recovery username, set while the login address is lost. */
  recovery_username: ColumnType<string | null, string | null | undefined, string | null>;
  login_address_lost_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export type SessionScope = 'full' | 'second_factor' | 'locked' | 'login_address_change';

/** A login. Ending it (revoked_at) makes its bearer token useless at once. */
export interface SessionsTable {
  id: string;
  account_id: string;
  scope: SessionScope;
  created_at: ColumnType<Date, Date | undefined, never>;
  expires_at: Date;
  revoked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** When the holder last proved the password (and the second factor when on) in this session (issue 14, item 3). */
  reauthenticated_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The browser and system families of the login ("Firefox on Linux"), when its user agent told (issue 17, item 2). */
  device: ColumnType<string | null, string | null | undefined, never>;
  /** Where from, as known: the client address's network (IPv4 /24, IPv6 /48), never the address itself. */
  network: ColumnType<string | null, string | null | undefined, never>;
}

/** The 10 single-use backup codes given when 2FA is switched on; HMACs only. */
export interface BackupCodesTable {
  account_id: string;
  code_hash: Buffer;
  /** The payload key the hash was derived from (lib/accountSecrets.ts); null for codes made before it was recorded. */
  key_id: ColumnType<string | null, string | null | undefined, string | null>;
  used_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** P8: application passwords and API tokens; SHA-256 of the secret only. */
export interface AccessTokensTable {
  id: string;
  account_id: string;
  kind: 'api_token' | 'app_password';
  name: string;
  token_hash: Buffer;
  created_at: Date;
  /** Null: unlimited lifetime. */
  expires_at: Date | null;
  last_used_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  revoked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Set by the yearly sweep for tokens unused for a year. */
  deactivated_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** P3, P4, P5: one recovery attempt; codes and tokens as HMAC/SHA-256 only. */
export interface RecoveryRequestsTable {
  id: string;
  kind: 'login_email' | 'password' | 'login_address' | 'recovery_email' | 'mobile_phone';
  account_id: string | null;
  channel: 'sms' | 'email' | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  code_hash: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>;
  code_attempts: ColumnType<number, number | undefined, number>;
  code_expires_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  confirmed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  token_hash: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>;
  token_expires_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  token_used_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  pending_email: ColumnType<string | null, string | null | undefined, string | null>;
  /** A new mobile number being confirmed (kind mobile_phone, issue 17, item 2). */
  pending_phone: ColumnType<string | null, string | null | undefined, string | null>;
  /** The recovery email or mobile number a confirmed change replaced: told of the change, then erased with the request. */
  previous_contact: ColumnType<string | null, string | null | undefined, string | null>;
  verification_case_id: ColumnType<string | null, string | null | undefined, string | null>;
  closed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}
