import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { apiSuite, assertProblem } from '../support/api';
import { seedOrganization, smtpCapture } from '../support/fixtures';
import { insertRenewableProduct } from '../support/orders';

const DAY = 86_400_000;

// Issue 17, item 7 [001]: a member's product rights limit what they read and act on, the contact
// preferences decide who receives billing mail, and both are edited after joining. Emails over SMTP.
describe('member rights that bind (issue 17, item 7)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const rights = (token: string, orgId: string, memberId: string, body: object) =>
    suite.api.call('PATCH', `/v1/organizations/${orgId}/members/${memberId}/rights`, { token, body });

  it('limits a member to their products: the others look unknown to read and to act on; only managers change product rights', async () => {
    const { org, admin, collaborator, legalRep } = suite.seed;
    const [p1, p2] = await Promise.all([1, 2].map(() => insertRenewableProduct(suite.api.db, suite.seed, { dueAt: new Date(Date.now() + 300 * DAY) })));
    const read = (id: string) => suite.api.call('GET', `/v1/products/${id}`, { token: suite.tokens.collaborator });
    assert.equal((await read(p2!.productId)).status, 200, 'unrestricted before');

    const changed = await rights(suite.tokens.admin, org.id, collaborator.id, { productIds: [p1!.productId] });
    assert.equal(changed.status, 200, changed.text);
    assert.deepEqual(changed.json.productIds, [p1!.productId]);
    assert.equal((await read(p1!.productId)).status, 200);
    assertProblem(await read(p2!.productId), 404, 'not-found');
    assertProblem(await suite.api.call('GET', `/v1/products/${p2!.productId}/renewal`, { token: suite.tokens.collaborator }), 404, 'not-found');

    // Only managers change product rights, a legal representative's only by a legal representative, and only to the organization's products.
    assertProblem(await rights(suite.tokens.collaborator, org.id, collaborator.id, { productIds: null }), 403, 'forbidden');
    assertProblem(await rights(suite.tokens.admin, org.id, legalRep.id, { productIds: [p1!.productId] }), 403, 'forbidden');
    assertProblem(await rights(suite.tokens.admin, org.id, collaborator.id, { productIds: [randomUUID()] }), 422, 'unprocessable');
    assertProblem(await rights(suite.tokens.outsider, org.id, collaborator.id, { productIds: null }), 404, 'not-found');
    assert.equal((await rights(suite.tokens.admin, org.id, admin.id, { productIds: null })).status, 200);
    assert.equal((await rights(suite.tokens.admin, org.id, collaborator.id, { productIds: null })).status, 200);
    assert.equal((await read(p2!.productId)).status, 200, 'all products again');
  });

  it('sends billing mail by the contact preferences, to members who may see the product; a member sets their own', async () => {
    const seed = await seedOrganization(suite.api.db);
    const token = async (id: string) => suite.api.token('customer', id);
    const [adminToken, collaboratorToken] = await Promise.all([token(seed.admin.id), token(seed.collaborator.id)]);
    const mine = await insertRenewableProduct(suite.api.db, seed, { dueAt: new Date(Date.now() + 30 * DAY) });
    const other = await insertRenewableProduct(suite.api.db, seed, { dueAt: new Date(Date.now() + 30 * DAY) });
    const prefs = { billing: true, technical: false, newsletters: false };
    // The administrator wants no billing mail; the collaborator, limited to one product, wants it.
    assert.equal((await rights(adminToken, seed.org.id, seed.admin.id, { contactPreferences: { ...prefs, billing: false } })).status, 200);
    assert.equal((await rights(adminToken, seed.org.id, seed.collaborator.id, { productIds: [mine.productId] })).status, 200);
    const own = await rights(collaboratorToken, seed.org.id, seed.collaborator.id, { contactPreferences: prefs });
    assert.equal(own.status, 200, own.text);
    assert.deepEqual(own.json.contactPreferences, prefs);

    // Each product's invoice is issued at once (due within two months): switching Renewal Warranty on starts its process.
    const legalRepToken = await token(seed.legalRep.id);
    for (const p of [mine, other])
      assert.equal(
        (await suite.api.call('PUT', `/v1/products/${p.productId}/renewal-warranty`, { token: legalRepToken, body: { enabled: true } })).status,
        200,
      );
    const smtp = await smtpCapture();
    const invoiceFor = (to: string, productId: string) => (m: { to: string[] | string; subject: string; text: string }) =>
      m.to.includes(to) && /Invoice issued/.test(m.subject) && m.text.includes(productId.slice(0, 6));
    await smtp.waitFor(invoiceFor(seed.collaborator.login_email, mine.productId), 30_000);
    await smtp.waitFor(invoiceFor(seed.legalRep.login_email, mine.productId), 30_000);
    await smtp.waitFor(invoiceFor(seed.legalRep.login_email, other.productId), 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const got = (to: string, productId: string) => smtp.messages().some(invoiceFor(to, productId));
    assert.equal(got(seed.admin.login_email, mine.productId) || got(seed.admin.login_email, other.productId), false, 'the administrator asked for none');
    assert.equal(got(seed.collaborator.login_email, other.productId), false, 'not about a product the collaborator may not see');
  });
});
