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
    assert.ok((await lint("import { createActivities } from '../activities';\nexport const x = createActivities;\n")).includes('@typescript-eslint/no-restricted-imports'));
  });

  it('accepts a type-only import of activity code', async () => {
    assert.deepEqual(await lint("import type * as activities from '../activities';\nexport type A = activities.Activities;\n"), []);
  });

  it('rejects Node builtins, with or without the node: prefix', async () => {
    assert.ok((await lint("import fs from 'fs';\nexport const x = fs;\n")).includes('@typescript-eslint/no-restricted-imports'));
    assert.ok((await lint("import { randomUUID } from 'node:crypto';\nexport const x = randomUUID;\n")).includes('@typescript-eslint/no-restricted-imports'));
  });

  it('rejects floating promises, Math.random and Date.now', async () => {
    const ids = await lint("async function f() { return 1; }\nexport function g() { f(); return Math.random() + Date.now(); }\n");
    assert.ok(ids.includes('@typescript-eslint/no-floating-promises'), String(ids));
    assert.equal(ids.filter((id) => id === 'no-restricted-properties').length, 2);
  });
});
