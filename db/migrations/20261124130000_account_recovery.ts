import { sql, type Kysely } from 'kysely';

// Issue 5: sessions that can be ended, 2FA with backup codes, application passwords and API
// tokens, recovery requests (P3, P4, P5) and the SMS recovery username.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('accounts')
    .addColumn('totp_secret_sealed', 'bytea')
    .addColumn('totp_pending_sealed', 'bytea')
    .addColumn('two_factor_enabled_at', 'timestamptz')
    .addColumn('recovery_username', 'text', (c) => c.unique())
    .addColumn('login_address_lost_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('scope', 'text', (c) => c.notNull().check(sql`scope in ('full', 'second_factor', 'locked', 'login_address_change')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('sessions_account_idx').on('sessions').column('account_id').where(sql.ref('revoked_at'), 'is', null).execute();

  await db.schema
    .createTable('backup_codes')
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('code_hash', 'bytea', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addPrimaryKeyConstraint('backup_codes_pkey', ['account_id', 'code_hash'])
    .execute();

  await db.schema
    .createTable('access_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('api_token', 'app_password')`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'bytea', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('deactivated_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('access_tokens_account_idx').on('access_tokens').column('account_id').execute();

  await db.schema
    .createTable('recovery_requests')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('login_email', 'password', 'login_address')`))
    // Null when nothing matched: the request runs all the same, so the answer reveals nothing.
    .addColumn('account_id', 'uuid', (c) => c.references('accounts.id').onDelete('cascade'))
    .addColumn('channel', 'text', (c) => c.check(sql`channel in ('sms', 'email')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('code_hash', 'bytea')
    .addColumn('code_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('code_expires_at', 'timestamptz')
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('token_hash', 'bytea', (c) => c.unique())
    .addColumn('token_expires_at', 'timestamptz')
    .addColumn('token_used_at', 'timestamptz')
    // P5: the new login address waiting for its code.
    .addColumn('pending_email', 'text')
    .addColumn('verification_case_id', 'uuid')
    .addColumn('closed_at', 'timestamptz')
    .execute();

  // P3: a case for a forgotten login email writes to the holder's recovery channels, not the login address.
  await db.schema
    .alterTable('verification_cases')
    .addColumn('contact', 'text', (c) =>
      c
        .notNull()
        .defaultTo('login_email')
        .check(sql`contact in ('login_email', 'recovery_channels')`),
    )
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('verification_cases').dropColumn('contact').execute();
  for (const t of ['recovery_requests', 'access_tokens', 'backup_codes', 'sessions']) await db.schema.dropTable(t).execute();
  for (const c of ['login_address_lost_at', 'recovery_username', 'two_factor_enabled_at', 'totp_pending_sealed', 'totp_secret_sealed'])
    await db.schema.alterTable('accounts').dropColumn(c).execute();
}
