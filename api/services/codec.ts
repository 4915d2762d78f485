/**
 * Readable payloads for those allowed (issue 19, item 5): the Temporal codec-server protocol over
 * our encryption codec (temporal/codec.ts), so a supervisor reads workflow inputs in the Temporal UI
 * while everyone else sees ciphertext. Only the system and active agents with the supervisor flag
 * decode; every decode is audited (how many payloads, which namespace, never their contents), and so is
 * a refused one.
 */
import type { Payload } from '@temporalio/common';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { activeAgent } from '../../db/repositories/agents';
import { audit } from '../../db/repositories/audit';
import { EncryptionCodec, type Keyring } from '../../temporal/codec';
import type { Principal } from '../auth';
import { Problem } from '../problems';

/** A payload as the codec-server protocol carries it: metadata values and data in base64. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const MAX_PAYLOADS = 1000;
/** Temporal's own limit on a namespace name; the X-Namespace header is the caller's word, kept that short in the audit. */
const MAX_NAMESPACE_LENGTH = 255;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fromJson(p: unknown, index: number): Payload {
  const bad = (what: string) => new Problem('validation-failed', `payloads[${index}]: ${what}`);
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw bad('not an object');
  const { metadata = {}, data = '' } = p as JsonPayload;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw bad('metadata is not an object');
  if (typeof data !== 'string' || !BASE64.test(data)) throw bad('data is not base64');
  const meta: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string' || !BASE64.test(v)) throw bad(`metadata.${k} is not base64`);
    meta[k] = Buffer.from(v, 'base64');
  }
  return { metadata: meta, data: Buffer.from(data, 'base64') };
}

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export function codecService({ db, keyring }: { db: Kysely<Database>; keyring: Keyring }) {
  const codec = new EncryptionCodec(keyring);

  /** The system, or an active supervisor; anyone else is refused (403). */
  async function mustRead(principal: Pick<Principal, 'role' | 'sub'>) {
    if (principal.role === 'system') return;
    if (principal.role === 'agent' && (await activeAgent(db, principal.sub))?.supervisor) return;
    throw new Problem('supervisor-required', 'Only supervisors and the system read workflow payloads');
  }

  function parse(body: unknown): Payload[] {
    const payloads = (body as { payloads?: unknown } | undefined)?.payloads;
    if (!Array.isArray(payloads)) throw new Problem('validation-failed', 'Send {"payloads": [...]}');
    if (payloads.length > MAX_PAYLOADS) throw new Problem('validation-failed', `At most ${MAX_PAYLOADS} payloads at a time`);
    return payloads.map(fromJson);
  }

  return {
    mustRead,

    /** Audited either way: allowed with how many payloads, or denied (an authenticated caller without the right). */
    async decode(principal: Pick<Principal, 'role' | 'sub'>, namespace: string, body: unknown): Promise<{ payloads: JsonPayload[] }> {
      const entry = {
        actor_type: principal.role,
        actor_id: principal.sub,
        action: 'temporal.payloads_decoded',
        subject_type: 'namespace',
        subject_id: namespace.slice(0, MAX_NAMESPACE_LENGTH),
      };
      try {
        await mustRead(principal);
      } catch (err) {
        await audit(db, { ...entry, decision: 'denied', details: {} });
        throw err;
      }
      const payloads = parse(body);
      let decoded: Payload[];
      try {
        decoded = await codec.decode(payloads);
      } catch (err) {
        throw new Problem('unprocessable', `A payload could not be decrypted: ${(err as Error).message}`);
      }
      await audit(db, { ...entry, decision: 'allowed', details: { count: payloads.length } });
      return { payloads: decoded.map(toJson) };
    },

    async encode(principal: Pick<Principal, 'role' | 'sub'>, body: unknown): Promise<{ payloads: JsonPayload[] }> {
      await mustRead(principal);
      return { payloads: (await codec.encode(parse(body))).map(toJson) };
    },
  };
}
