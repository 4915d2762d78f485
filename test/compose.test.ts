import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

// docker-compose.yml cannot run here (no Docker engine); keep it at least well-formed and complete.
describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(path.join(__dirname, '..', 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { image?: string; build?: string; environment?: Record<string, string>; depends_on?: unknown }>;
  };

  it('describes Temporal on PostgreSQL with its UI, the app database, API, worker and a mail catcher', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['api', 'app-db', 'mailpit', 'temporal', 'temporal-db', 'temporal-ui', 'worker']);
    assert.match(compose.services.temporal!.image!, /^temporalio\//);
    assert.equal(compose.services.temporal!.environment!.DB, 'postgres12');
    assert.equal(compose.services.api!.build, '.');
    assert.equal(compose.services.worker!.build, '.');
  });

  it('gives both app roles every variable production requires', () => {
    for (const role of ['api', 'worker']) {
      const env = compose.services[role]!.environment!;
      for (const name of ['NODE_ENV', 'TEMPORAL_ADDRESS', 'DATABASE_URL', 'SMTP_URL', 'AUTH_SECRET', 'PAYLOAD_ENCRYPTION_KEY', 'TWILIO_ACCOUNT_SID']) {
        assert.ok(env[name], `${role} lacks ${name}`);
      }
    }
  });
});
