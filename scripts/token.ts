/**
 * `npm run token -- --role agent --sub <id> [--ttl 1h]`: prints a bearer token signed with
 * AUTH_SECRET. Short-lived by default (1 hour, at most 30 days). A customer or agent token is tied
 * to a session opened in the database, so it can be ended (an agent's by deactivating the agent);
 * a system token names a service and ends with its expiry (issue 14, item 4).
 */
import { parseArgs } from 'node:util';
import { ROLES, type Role } from '../api/auth';
import { issueBearerToken, parseLifetime, UnknownSubjectError } from '../api/services/bearerTokens';
import { loadConfig } from '../lib/config';
import { loadAuthSecret } from '../temporal/keys';
import { openDatabase } from './connect';

const MAX_LIFETIME_MS = 30 * 86_400_000;
const usage = `usage: npm run token -- --role ${ROLES.join('|')} --sub <id> [--ttl 1h] (s, m, h or d; at most 30d)`;

const { values } = parseArgs({ options: { role: { type: 'string' }, sub: { type: 'string' }, ttl: { type: 'string', default: '1h' } } });
const lifetimeMs = parseLifetime(values.ttl);
if (!values.role || !ROLES.includes(values.role as Role) || !values.sub || !lifetimeMs || lifetimeMs > MAX_LIFETIME_MS) {
  console.error(usage);
  process.exit(2);
}

(async () => {
  const config = loadConfig();
  const role = values.role as Role;
  // A system token has no session: no database needed.
  const database = role === 'system' ? undefined : await openDatabase(config);
  try {
    const { token, expiresAt } = await issueBearerToken({ db: database?.db, authSecret: loadAuthSecret(config) }, { role, sub: values.sub! }, lifetimeMs);
    console.log(token);
    console.error(`expires ${expiresAt.toISOString()}`);
  } finally {
    await database?.close();
  }
})().catch((err: Error) => {
  console.error(err instanceof UnknownSubjectError ? `${err.message} (customers and agents are named by their id)` : err.message);
  process.exit(1);
});
