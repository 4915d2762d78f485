import { strict as assert } from 'node:assert';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { newCaseKey, openDocument, sealDocument, unwrapCaseKey } from '../../lib/documentCrypto';
import { createKeyring } from '../../temporal/codec';

describe('document envelope encryption', () => {
  const k1 = { id: 'k1', key: randomBytes(32) };
  const keyring = createKeyring(k1);
  const passport = Buffer.from('PASSPORT ALICE EXAMPLE P<CHEEXAMPLE<<ALICE<<<<<<<<<<', 'utf8');
  const aad = 'case-1:document-1';

  it('round-trips a document through a wrapped case key', () => {
    const { dataKey, wrapped } = newCaseKey(keyring);
    assert.equal(dataKey.length, 32);
    const sealed = sealDocument(dataKey, passport, aad);
    assert.deepEqual(openDocument(unwrapCaseKey(keyring, wrapped), sealed, aad), passport);
  });

  it('leaves no plaintext in the sealed bytes or the wrapped key, and uses a fresh IV', () => {
    const { dataKey, wrapped } = newCaseKey(keyring);
    const sealed = sealDocument(dataKey, passport, aad);
    assert.ok(!sealed.includes(passport) && !sealed.includes(Buffer.from('ALICE')));
    assert.ok(!wrapped.includes(dataKey));
    assert.ok(!sealed.equals(sealDocument(dataKey, passport, aad)));
    assert.equal(sealed.length, 12 + passport.length + 16);
  });

  it('refuses a wrong AAD (a row moved to another case or document), a tampered byte, another case key', () => {
    const { dataKey } = newCaseKey(keyring);
    const sealed = sealDocument(dataKey, passport, aad);
    assert.throws(() => openDocument(dataKey, sealed, 'case-2:document-1'), /does not authenticate/);
    assert.throws(() => openDocument(dataKey, sealed, 'case-1:document-2'), /does not authenticate/);
    for (const at of [0, 12, sealed.length - 1]) {
      const tampered = Buffer.from(sealed);
      tampered[at]! ^= 0x01;
      assert.throws(() => openDocument(dataKey, tampered, aad), /does not authenticate/, `byte ${at}`);
    }
    assert.throws(() => openDocument(newCaseKey(keyring).dataKey, sealed, aad), /does not authenticate/);
    assert.throws(() => openDocument(dataKey, sealed.subarray(0, 27), aad), /truncated/);
  });

  it('does not wrap case keys with the payload key itself', () => {
    const { dataKey, wrapped } = newCaseKey(keyring);
    const body = wrapped.subarray(2 + k1.id.length);
    const decipher = createDecipheriv('aes-256-gcm', k1.key, body.subarray(0, 12));
    decipher.setAAD(wrapped.subarray(0, 2 + k1.id.length));
    decipher.setAuthTag(body.subarray(body.length - 16));
    assert.throws(() => Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]));
    assert.deepEqual(unwrapCaseKey(keyring, wrapped), dataKey);
  });

  it('unwraps a key wrapped before a rotation while the old key is kept as an older key', () => {
    const { dataKey, wrapped } = newCaseKey(keyring);
    const rotated = createKeyring({ id: 'k2', key: randomBytes(32) }, { k1: k1.key });
    assert.deepEqual(unwrapCaseKey(rotated, wrapped), dataKey);
    const fresh = newCaseKey(rotated);
    assert.equal(fresh.wrapped.toString('utf8', 2, 4), 'k2', 'new cases use the current key');
    assert.deepEqual(unwrapCaseKey(rotated, fresh.wrapped), fresh.dataKey);
  });

  it('names an unknown key id, and refuses a tampered or relabelled wrapped key', () => {
    const { wrapped } = newCaseKey(keyring);
    assert.throws(() => unwrapCaseKey(createKeyring({ id: 'k9', key: randomBytes(32) }), wrapped), /no payload key with id "k1"/);
    assert.throws(() => unwrapCaseKey(createKeyring({ id: 'k1', key: randomBytes(32) }), wrapped), /does not authenticate under payload key "k1"/);
    const tampered = Buffer.from(wrapped);
    tampered[tampered.length - 20]! ^= 0x01;
    assert.throws(() => unwrapCaseKey(keyring, tampered), /does not authenticate/);
    // Same key bytes under another id: the id is authenticated, so the label cannot be swapped.
    const relabelled = Buffer.from(wrapped);
    relabelled[3] = '2'.charCodeAt(0);
    assert.throws(() => unwrapCaseKey(createKeyring({ id: 'k2', key: k1.key }), relabelled), /does not authenticate/);
    assert.throws(() => unwrapCaseKey(keyring, wrapped.subarray(0, wrapped.length - 1)), /truncated or corrupt/);
    assert.throws(() => unwrapCaseKey(keyring, Buffer.concat([Buffer.from([9]), wrapped.subarray(1)])), /unknown format version 9/);
    assert.throws(() => unwrapCaseKey(keyring, Buffer.alloc(0)), /unknown format version none/);
  });
});
