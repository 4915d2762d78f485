import { strict as assert } from 'node:assert';
import path from 'node:path';
import { ESLint } from 'eslint';

// The determinism rules are only worth having if they fire: lint offending snippets as workflow files.
describe('lint rules for workflow code', function () {
  this.timeout(60_000);
  const eslint = new ESLint({ cwd: path.join(__dirname, '..') });
  const lint = async (code: string) => {
    const [result] = await eslint.lintText(code, { filePath: path.join(__dirname, '..', 'workflows', 'supportAccess.ts') });
    return result!.messages.map((m) => m.ruleId);
  };

  it('rejects a value import of activity code', async () => {
    assert.ok(
      (await lint("import { createActivities } from '../activities';\nexport const x = createActivities;\n")).includes(
        '@typescript-eslint/no-restricted-imports',
      ),
    );
  });

  it('accepts a type-only import of activity code', async () => {
    assert.deepEqual(await lint("import type * as activities from '../activities';\nexport type A = activities.Activities;\n"), []);
  });

  it('rejects Node builtins, with or without the node: prefix', async () => {
    assert.ok((await lint("import fs from 'fs';\nexport const x = fs;\n")).includes('@typescript-eslint/no-restricted-imports'));
    assert.ok((await lint("import { randomUUID } from 'node:crypto';\nexport const x = randomUUID;\n")).includes('@typescript-eslint/no-restricted-imports'));
  });

  it('rejects floating promises, Math.random and Date.now', async () => {
    const ids = await lint('async function f() { return 1; }\nexport function g() { f(); return Math.random() + Date.now(); }\n');
    assert.ok(ids.includes('@typescript-eslint/no-floating-promises'), String(ids));
    assert.equal(ids.filter((id) => id === 'no-restricted-properties').length, 2);
  });
});

// Issue 16: a route that runs SQL, a transaction or a process call itself, or imports crypto or a
// repository, fails the lint; the same code in a service passes.
describe('lint rules for routes', function () {
  this.timeout(60_000);
  const eslint = new ESLint({ cwd: path.join(__dirname, '..') });
  const lint = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: path.join(__dirname, '..', file) });
    return result!.messages.map((m) => m.ruleId);
  };
  const offending = [
    "import { randomUUID } from 'node:crypto';",
    "import { findMembership } from '../../db/repositories/organizations';",
    'export async function f(db: any, client: any) {',
    "  await db.selectFrom('accounts').selectAll().execute();",
    '  await db.transaction().execute(async () => undefined);',
    "  await client.workflow.getHandle('x').signal('y');",
    '  return [randomUUID(), findMembership];',
    '}',
    '',
  ].join('\n');

  it('rejects SQL, transactions, process calls, crypto and repositories in a route or a page', async () => {
    for (const file of ['api/routes/recovery.ts', 'api/pages/recovery.ts']) {
      const ids = await lint(file, offending);
      assert.equal(ids.filter((id) => id === 'no-restricted-syntax').length, 3, `${file}: ${ids}`);
      assert.equal(ids.filter((id) => id === '@typescript-eslint/no-restricted-imports').length, 2, `${file}: ${ids}`);
    }
  });

  it('accepts the same code in a service', async () => {
    assert.deepEqual(await lint('api/services/recovery.ts', offending), []);
  });
});
