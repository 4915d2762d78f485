/**
 * Issue 14, item 8 (four eyes): a case whose approval switches 2FA off or unlocks an account is
 * approved only on the customer's documents, reviewed by the agent who claimed the case. A manual
 * verification (identity "checked by other means", the agent's word alone) may reject it, never
 * approve it. Other cases keep the manual approval (customers without a mobile phone).
 */
import { strict as assert } from 'node:assert';
import { securityCaseWorkflowId } from '../../workflows/shared/recovery';
import { apiSuite, assertProblem } from '../support/api';
import { eventually, holder, login } from '../support/recovery';
import { linkTokenFor, passPhoneAndPosition, sendDocuments } from '../support/verification';

describe('four eyes on cases that switch 2FA off or unlock an account (issue 14, item 8)', function () {
  this.timeout(120_000);
  const suite = apiSuite();

  const manual = (caseId: string, token: string, decision: 'approve' | 'reject') =>
    suite.api.call('POST', `/v1/verification-cases/${caseId}/manual-verification`, { token, body: { decision, reason: 'identity checked on a phone call' } });
  const caseStatus = async (caseId: string) =>
    await suite.api.db.selectFrom('verification_cases').select(['status', 'manual']).where('id', '=', caseId).executeTakeFirstOrThrow();

  it('P7: a manual verification cannot unlock; the reviewed documents can', async () => {
    const { api, tokens } = suite;
    const h = await holder(api.db);
    for (let i = 0; i < 5; i += 1) assertProblem(await login(api, h.login_email, 'wrong password'), 401, 'invalid-credentials');
    const locked = await login(api, h.login_email);
    assertProblem(locked, 423, 'account-locked');
    const asked = await api.call('POST', '/v1/accounts/me/unlock-requests', { token: locked.json.restrictedToken });
    assert.equal(asked.status, 202, asked.text);
    const caseId = asked.json.caseId as string;
    await eventually(() => api.db.selectFrom('verification_cases').select('id').where('id', '=', caseId).executeTakeFirst(), 'the case');

    // Before the customer sent anything, and once the documents wait for review: refused either way.
    assertProblem(await manual(caseId, tokens.agent, 'approve'), 409, 'documents-required');
    const token = await linkTokenFor(h.login_email);
    await passPhoneAndPosition(api, token);
    await sendDocuments(api, token, 'four eyes');
    assertProblem(await manual(caseId, tokens.agent, 'approve'), 409, 'documents-required');
    assert.deepEqual(await caseStatus(caseId), { status: 'submitted', manual: false });
    assertProblem(await login(api, h.login_email), 423, 'account-locked');

    // The agent who claims the case decides on the documents.
    const claimed = await api.call('POST', `/v1/verification-cases/${caseId}/claim`, { token: tokens.agent });
    assert.equal(claimed.status, 200, claimed.text);
    assertProblem(await manual(caseId, tokens.agent, 'approve'), 409, 'documents-required');
    const decided = await api.call('POST', `/v1/verification-cases/${caseId}/decision`, {
      token: tokens.agent,
      body: { decision: 'approve', reason: 'card and selfie match' },
    });
    assert.equal(decided.status, 200, decided.text);
    assert.deepEqual([decided.json.status, decided.json.manual], ['approved', false]);
    await api.client.workflow.getHandle(securityCaseWorkflowId(h.id, 'account_unblock')).result();
    assert.equal((await login(api, h.login_email)).status, 201);
  });

  it('P6: a manual verification may reject a 2FA case but not approve it', async () => {
    const { api, seed, tokens } = suite;
    const opened = await api.call('POST', '/v1/verification-cases', { token: tokens.system, body: { accountId: seed.collaborator.id, reason: 'disable_2fa' } });
    assert.equal(opened.status, 201, opened.text);
    const refused = await manual(opened.json.id, tokens.agent, 'approve');
    assertProblem(refused, 409, 'documents-required');
    assert.match(refused.json.detail, /manual verification may only reject/);
    assert.deepEqual(await caseStatus(opened.json.id), { status: 'awaiting_customer', manual: false });
    const rejected = await manual(opened.json.id, tokens.agent, 'reject');
    assert.equal(rejected.status, 200, rejected.text);
    assert.deepEqual([rejected.json.status, rejected.json.manual], ['rejected', true]);
  });

  it('keeps the manual approval for other reasons', async () => {
    const { api, seed, tokens } = suite;
    const opened = await api.call('POST', '/v1/verification-cases', { token: tokens.system, body: { accountId: seed.admin.id, reason: 'forgotten_password' } });
    assert.equal(opened.status, 201, opened.text);
    const approved = await manual(opened.json.id, tokens.agent, 'approve');
    assert.equal(approved.status, 200, approved.text);
    assert.deepEqual([approved.json.status, approved.json.manual], ['approved', true]);
  });
});
