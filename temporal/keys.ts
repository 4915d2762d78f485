/**
 * Resolves the payload key: from the environment in production; for local runs a key generated
 * once under DATA_DIR, so the API and worker processes of one checkout agree without setup.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../lib/config';
import { createKeyring, type Keyring } from './codec';

export function loadKeyring(config: Config): Keyring {
  const older = Object.fromEntries(
    (config.PAYLOAD_DECRYPTION_KEYS ?? '')
      .split(',')
      .map((pair) => pair.trim())
      .filter(Boolean)
      .map((pair) => {
        const at = pair.indexOf('=');
        return [pair.slice(0, at), Buffer.from(pair.slice(at + 1), 'base64')] as const;
      }),
  );
  if (config.PAYLOAD_ENCRYPTION_KEY) {
    return createKeyring({ id: config.PAYLOAD_ENCRYPTION_KEY_ID, key: Buffer.from(config.PAYLOAD_ENCRYPTION_KEY, 'base64') }, older);
  }
  const file = path.join(config.DATA_DIR, 'dev-payload-key.json');
  if (!existsSync(file)) {
    mkdirSync(config.DATA_DIR, { recursive: true });
    createOnce(file, JSON.stringify({ id: 'dev', key: randomBytes(32).toString('base64') }));
  }
  const dev = JSON.parse(readFileSync(file, 'utf8')) as { id: string; key: string };
  return createKeyring({ id: dev.id, key: Buffer.from(dev.key, 'base64') }, older);
}

/** Same idea for the token-signing secret of local runs. */
export function loadAuthSecret(config: Config): string {
  if (config.AUTH_SECRET) return config.AUTH_SECRET;
  const file = path.join(config.DATA_DIR, 'dev-auth-secret');
  if (!existsSync(file)) {
    mkdirSync(config.DATA_DIR, { recursive: true });
    createOnce(file, randomBytes(32).toString('base64url'));
  }
  return readFileSync(file, 'utf8').trim();
}

/** Writes a secret file unless another process won the race to create it first. */
function createOnce(file: string, content: string): void {
  try {
    writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
