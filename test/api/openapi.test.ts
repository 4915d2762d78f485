import { strict as assert } from 'node:assert';
import { startApi } from '../support/api';

describe('API documentation and health', function () {
  this.timeout(120_000);
  let api: Awaited<ReturnType<typeof startApi>>;
  before(async function () {
    this.timeout(300_000);
    api = await startApi();
  });
  after(async () => api?.stop());

  it('serves an OpenAPI 3.1 document generated from the validating schemas', async () => {
    const res = await api.call('GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.json.openapi, '3.1.0');
    const create = res.json.paths['/v1/support-access-grants'].post;
    const schema = create.requestBody.content['application/json'].schema;
    assert.deepEqual(schema.properties.kind.enum, ['mail', 'kdrive', 'kchat']);
    assert.deepEqual(schema.required.sort(), ['kind', 'organizationId', 'resourceIds', 'ticketId']);
    assert.ok(res.json.paths['/v1/support-access-grants/{id}/access-checks'].post);
  });

  it('serves interactive docs at /docs without the internet', async () => {
    const page = await api.call('GET', '/docs');
    assert.equal(page.status, 200);
    assert.match(page.text, /swagger-ui-bundle\.js/);
    assert.equal((await api.call('GET', '/docs/swagger-ui-bundle.js')).status, 200);
  });

  it('answers /health (alive) and reports both dependencies in /ready', async () => {
    assert.deepEqual((await api.call('GET', '/health')).json, { status: 'ok' });
    const res = await api.call('GET', '/ready');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'ready', checks: { temporal: 'ok', database: 'ok' } });
  });

  it('documents each problem type at its URI', async () => {
    const res = await api.call('GET', '/problems/grant-not-active');
    assert.deepEqual(res.json, { type: '/problems/grant-not-active', status: 409, title: 'The grant is no longer active' });
  });
});
