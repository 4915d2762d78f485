import { strict as assert } from 'node:assert';
import { apiSuite, assertProblem } from '../support/api';
import { seedOrganization, smtpCapture } from '../support/fixtures';
import { randomUUID } from 'node:crypto';
import { prepaidBalance } from '../../db/repositories/renewal';
import { insertProduct, insertRenewableProduct } from '../support/orders';
import { eventually } from '../support/renewal';

describe('partner program API (dev server + PostgreSQL)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const LINK = /\/client-invitations\/([A-Za-z0-9_-]{43})\b/;
  const apply = (token: string, body: object) =>
    suite.api.call('POST', '/v1/partner-applications', {
      token,
      body: {
        organizationId: suite.seed.org.id,
        registryNumber: 'CHE-123.456.789',
        website: 'https://agency.example',
        yearlyVolume: { amountCents: 250_000, currency: 'CHF' },
        ...body,
      },
    });

  it('accepts a registered company with a website and enough yearly volume, and refuses the rest with every reason', async () => {
    const refused = await apply(suite.tokens.legalRep, { registryNumber: '', website: 'agency', yearlyVolume: { amountCents: 179_999, currency: 'EUR' } });
    assertProblem(refused, 422, 'partner-application-refused');
    assert.equal(refused.json.reasons.length, 3, refused.text);
    assertProblem(await apply(suite.tokens.admin, {}), 403, 'forbidden');
    assertProblem(await apply(suite.tokens.outsider, {}), 404, 'not-found');
    assertProblem(await apply(suite.tokens.agent, {}), 403, 'forbidden');
    await suite.api.db.updateTable('organizations').set({ program: 'affiliate' }).where('id', '=', suite.seed.org.id).execute();
    assert.match((await apply(suite.tokens.legalRep, {})).json.detail, /Affiliate/);
    await suite.api.db.updateTable('organizations').set({ program: null }).where('id', '=', suite.seed.org.id).execute();
    const accepted = await apply(suite.tokens.legalRep, { yearlyVolume: { amountCents: 200_000, currency: 'CHF' } });
    assert.equal(accepted.status, 201, accepted.text);
    assertProblem(await apply(suite.tokens.legalRep, {}), 409, 'conflict');
  });

  it('invites a client who grants different rights from those requested; the partner sees them and reads only what was granted, collaborators within their own rights, until either side ends it (issue 17, item 9)', async () => {
    const partner = suite.seed;
    await suite.api.db.updateTable('organizations').set({ program: 'partner' }).where('id', '=', partner.org.id).execute();
    const clientSeed = await seedOrganization(suite.api.db);
    const [p1, p2, p3] = await Promise.all([1, 2, 3].map(() => insertProduct(suite.api.db, clientSeed)));
    const invite = (token: string) =>
      suite.api.call('POST', `/v1/partners/${partner.org.id}/client-invitations`, {
        token,
        body: {
          clientEmail: clientSeed.legalRep.login_email,
          requested: { access: 'restricted', productIds: [p1!.productId, p2!.productId], billing: 'partner' },
        },
      });
    assertProblem(await invite(suite.tokens.admin), 403, 'forbidden');
    assertProblem(await invite(suite.tokens.collaborator), 403, 'forbidden');
    assertProblem(await invite(suite.tokens.outsider), 404, 'not-found');
    assertProblem(await invite(suite.tokens.agent), 403, 'forbidden');
    const sent = await invite(suite.tokens.legalRep);
    assert.equal(sent.status, 201, sent.text);
    const mail = await (await smtpCapture()).waitFor((m) => m.to.includes(clientSeed.legalRep.login_email) && LINK.test(m.text));
    assert.match(mail.text, /access to 2 chosen product\(s\), billed to the partner/);
    const token = LINK.exec(mail.text)![1]!;
    const clientToken = await suite.api.token('customer', clientSeed.legalRep.id);
    const accept = (granted: object, as = clientToken) =>
      suite.api.call('POST', `/v1/client-invitations/${token}/accept`, { token: as, body: { organizationId: clientSeed.org.id, granted } });
    assertProblem(
      await accept({ access: 'restricted', productIds: [p1!.productId], billing: 'client' }, await suite.api.token('customer', clientSeed.admin.id)),
      403,
      'invitation-not-for-you',
    );
    // Different rights from those requested [003]: p3 was not asked for, p2 was and is not granted, and the client pays.
    const granted = { access: 'restricted', productIds: [p1!.productId, p3!.productId], billing: 'client' };
    const ok = await accept(granted);
    assert.equal(ok.status, 200, ok.text);
    assertProblem(await accept(granted), 404, 'invitation-link-invalid');
    const told = await (await smtpCapture()).waitFor((m) => m.to.includes(partner.legalRep.login_email) && /accepted your invitation/.test(m.subject));
    assert.match(
      told.text,
      /access to 2 chosen product\(s\), billed to the client, not what you asked for \(access to 2 chosen product\(s\), billed to the partner\)/,
    );
    const listed = await suite.api.call('GET', `/v1/partners/${partner.org.id}/client-invitations`, { token: suite.tokens.admin });
    assert.equal(listed.json.items[0].status, 'accepted');
    assert.deepEqual([...listed.json.items[0].granted.productIds].sort(), [p1!.productId, p3!.productId].sort());
    assert.equal(listed.json.items[0].granted.billing, 'client', 'the partner sees the payment method used');

    const read = (productId: string, t = suite.tokens.admin) => suite.api.call('GET', `/v1/products/${productId}`, { token: t });
    assert.equal((await read(p1!.productId)).status, 200, 'a partner manager reads a granted product');
    assert.equal((await read(p3!.productId)).status, 200, 'even one the partner had not asked for');
    assert.equal((await suite.api.call('GET', `/v1/products/${p1!.productId}/renewal`, { token: suite.tokens.admin })).status, 200);
    assertProblem(await read(p2!.productId), 404, 'not-found');
    // A collaborator of the partner manages the client's products within their own rights [003].
    assert.equal((await read(p1!.productId, suite.tokens.collaborator)).status, 200, 'an unrestricted collaborator: the whole grant');
    await suite.api.db
      .updateTable('memberships')
      .set({ product_ids: [p3!.productId] })
      .where('organization_id', '=', partner.org.id)
      .where('account_id', '=', partner.collaborator.id)
      .execute();
    assert.equal((await read(p3!.productId, suite.tokens.collaborator)).status, 200, 'a restricted collaborator: the granted products listed');
    assertProblem(await read(p1!.productId, suite.tokens.collaborator), 404, 'not-found');
    assertProblem(await suite.api.call('POST', `/v1/products/${p1!.productId}/cancellation-requests`, { token: suite.tokens.legalRep }), 404, 'not-found');

    assertProblem(await suite.api.call('DELETE', `/v1/partnerships/${ok.json.partnershipId}`, { token: suite.tokens.outsider }), 404, 'not-found');
    assert.equal((await suite.api.call('DELETE', `/v1/partnerships/${ok.json.partnershipId}`, { token: clientToken })).status, 204);
    assertProblem(await read(p1!.productId), 404, 'not-found');
    assertProblem(await suite.api.call('DELETE', `/v1/partnerships/${ok.json.partnershipId}`, { token: suite.tokens.legalRep }), 409, 'conflict');
    await eventually(async () => {
      const smtp = await smtpCapture();
      for (const who of [partner.legalRep.login_email, clientSeed.legalRep.login_email])
        assert.ok(
          smtp.messages().some((m) => m.to.includes(who) && /Partnership ended/.test(m.subject)),
          who,
        );
    });
  });

  it('refuses client invitations from an organization that is not a partner', async () => {
    const res = await suite.api.call('POST', `/v1/partners/${suite.seed.org.id}/client-invitations`, {
      token: suite.tokens.legalRep,
      body: { clientEmail: 'c@client.test', requested: { access: 'full', billing: 'client' } },
    });
    assertProblem(res, 409, 'not-a-partner');
    assertProblem(
      await suite.api.call('POST', `/v1/partners/${suite.seed.org.id}/client-invitations`, {
        token: suite.tokens.legalRep,
        body: { clientEmail: 'c@client.test', requested: { access: 'restricted', billing: 'client' } },
      }),
      400,
      'validation-failed',
    );
  });

  it("credits the partner's discount as cashback when its client pays a renewal itself", async () => {
    const partner = suite.seed;
    await suite.api.db.updateTable('organizations').set({ program: 'partner' }).where('id', '=', partner.org.id).execute();
    const clientSeed = await seedOrganization(suite.api.db);
    const { productId } = await insertRenewableProduct(suite.api.db, clientSeed, { dueAt: new Date(Date.now() + 40 * 86_400_000), priceCents: 12_000 });
    await suite.api.db
      .insertInto('partnerships')
      .values({
        id: randomUUID(),
        partner_organization_id: partner.org.id,
        client_organization_id: clientSeed.org.id,
        invitation_id: null,
        access: 'full',
        billing: 'client',
        started_at: new Date(),
      })
      .execute();
    const paid = await suite.api.call('POST', `/v1/products/${productId}/payments`, {
      token: await suite.api.token('customer', clientSeed.admin.id),
      body: { means: 'card' },
      headers: { 'idempotency-key': `cashback-${productId}` },
    });
    assert.equal(paid.status, 201, paid.text);
    await eventually(async () => assert.equal(await prepaidBalance(suite.api.db, partner.org.id, 'CHF'), 2_400, '20 % of 120.00 CHF'));
  });
});
