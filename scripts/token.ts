/** `npm run token -- --role agent --sub <id> [--ttl 12h]`: prints a bearer token signed with AUTH_SECRET. */
import { parseArgs } from 'node:util';
import { issueToken, ROLES, type Role } from '../api/auth';
import { loadConfig } from '../lib/config';
import { loadAuthSecret } from '../temporal/keys';

const { values } = parseArgs({ options: { role: { type: 'string' }, sub: { type: 'string' }, ttl: { type: 'string', default: '12h' } } });
if (!values.role || !ROLES.includes(values.role as Role) || !values.sub) {
  console.error(`usage: npm run token -- --role ${ROLES.join('|')} --sub <id> [--ttl 12h]`);
  process.exit(2);
}
issueToken(loadAuthSecret(loadConfig()), { role: values.role as Role, sub: values.sub }, values.ttl).then(
  (t) => console.log(t),
  (err: Error) => (console.error(err.message), process.exit(1)),
);
