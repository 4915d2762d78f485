import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, createKeyring } from '../temporal/codec';

describe('payload encryption codec', () => {
  const key = { id: 'k1', key: randomBytes(32) };
  const secret = { email: 'alice@private.test', phone: '+41790000001' };

  it('round-trips a payload and leaves no plaintext in what it encodes', async () => {
    const codec = new EncryptionCodec(createKeyring(key));
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload(secret)]);
    const raw = Buffer.from(encoded!.data!).toString('latin1');
    assert.ok(!raw.includes('alice@private.test') && !raw.includes('+41790000001'));
    assert.equal(Buffer.from(encoded!.metadata!['encryption-key-id']!).toString(), 'k1');
    const [decoded] = await codec.decode([encoded!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded!), secret);
  });

  it('uses a fresh IV each time', async () => {
    const codec = new EncryptionCodec(createKeyring(key));
    const payload = defaultPayloadConverter.toPayload(secret);
    const [a, b] = await codec.encode([payload, payload]);
    assert.notDeepEqual(Buffer.from(a!.data!), Buffer.from(b!.data!));
  });

  it('decodes with a rotated-out key kept for decryption, and refuses an unknown key id', async () => {
    const [old] = await new EncryptionCodec(createKeyring(key)).encode([defaultPayloadConverter.toPayload(secret)]);
    const rotated = new EncryptionCodec(createKeyring({ id: 'k2', key: randomBytes(32) }, { k1: key.key }));
    assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!), secret);
    const stranger = new EncryptionCodec(createKeyring({ id: 'k9', key: randomBytes(32) }));
    await assert.rejects(stranger.decode([old!]), /no payload key with id "k1"/);
  });

  it('rejects tampered ciphertext', async () => {
    const codec = new EncryptionCodec(createKeyring(key));
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload(secret)]);
    const data = Buffer.from(encoded!.data!);
    data[20]! ^= 0xff;
    await assert.rejects(codec.decode([{ ...encoded!, data }]));
  });

  it('passes through payloads that were never encrypted', async () => {
    const codec = new EncryptionCodec(createKeyring(key));
    const plain = defaultPayloadConverter.toPayload('hello');
    assert.deepEqual(await codec.decode([plain]), [plain]);
  });
});
