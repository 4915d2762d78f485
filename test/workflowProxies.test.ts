import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * Issue 16, item 4: a workflow proxies exactly the activities it calls, so its header says what it
 * does and each proxy's options fit what it proxies. Read with the type checker: the names a
 * proxyActivities<…>() call makes available (its type argument's properties) must equal the names
 * the workflow takes from that proxy (`proxy.name` or `const { name } = proxyActivities…`).
 */
const root = path.join(__dirname, '..');

type Proxy = { line: number; proxied: string[]; used: string[]; escapes: string[] };

function proxiesOf(program: ts.Program, file: string): Proxy[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const out: Proxy[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'proxyActivities') {
      const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const typeArg = node.typeArguments?.[0];
      const proxied = typeArg
        ? checker
            .getTypeFromTypeNode(typeArg)
            .getProperties()
            .map((p) => p.name)
            .sort()
        : ['<no type argument>'];
      const used = new Set<string>();
      const escapes: string[] = [];
      const decl = node.parent;
      if (ts.isVariableDeclaration(decl) && ts.isIdentifier(decl.name)) {
        const proxy = checker.getSymbolAtLocation(decl.name);
        const find = (n: ts.Node) => {
          if (ts.isIdentifier(n) && n !== decl.name && checker.getSymbolAtLocation(n) === proxy) {
            if (ts.isPropertyAccessExpression(n.parent) && n.parent.expression === n) used.add(n.parent.name.text);
            else escapes.push(n.parent.getText(source));
          }
          ts.forEachChild(n, find);
        };
        find(source);
      } else if (ts.isVariableDeclaration(decl) && ts.isObjectBindingPattern(decl.name)) {
        for (const el of decl.name.elements) {
          const name = el.propertyName ?? el.name;
          if (ts.isIdentifier(name)) used.add(name.text);
          else escapes.push(el.getText(source));
        }
      } else {
        escapes.push(decl.getText(source));
      }
      out.push({ line, proxied, used: [...used].sort(), escapes });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function problemsOf(program: ts.Program, file: string): { count: number; problems: string[] } {
  const problems: string[] = [];
  const proxies = proxiesOf(program, file);
  for (const p of proxies) {
    const where = `${path.relative(root, file)}:${p.line}`;
    const unused = p.proxied.filter((n) => !p.used.includes(n));
    if (unused.length > 3) problems.push(`${where} proxies ${unused.length} activities it never calls (${unused.slice(0, 3).join(', ')}, …)`);
    else if (unused.length) problems.push(`${where} proxies ${unused.join(', ')} but never calls ${unused.length > 1 ? 'them' : 'it'}`);
    if (p.escapes.length) problems.push(`${where}: the proxy is used other than by name (${p.escapes.join('; ')}), so its calls cannot be checked`);
  }
  return { count: proxies.length, problems };
}

describe('workflow activity proxies', function () {
  this.timeout(60_000);
  const dir = path.join(root, 'workflows');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
  let program: ts.Program;

  before(() => {
    const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    program = ts.createProgram(files, config.options);
  });

  it('each proxy offers exactly the activities its workflow calls', () => {
    const problems: string[] = [];
    let count = 0;
    for (const file of files) {
      const found = problemsOf(program, file);
      count += found.count;
      problems.push(...found.problems);
    }
    assert.ok(count >= 19, `found only ${count} proxies: is the test still reading the workflows?`);
    assert.deepEqual(problems, []);
  });

  it('catches a workflow that proxies more than it calls', () => {
    const file = path.join(root, 'workflows', '__proxyProbe.ts');
    const text = [
      "import { proxyActivities } from '@temporalio/workflow';",
      "import type { Activities } from '../activities';",
      "const acts = proxyActivities<Pick<Activities, 'fulfillOrder' | 'cancelOrder'>>({ startToCloseTimeout: '1 minute' });",
      "const { reservePayment } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute' });",
      'export async function probe() { await acts.fulfillOrder({ orderId: "o" }); return reservePayment; }',
    ].join('\n');
    const host = ts.createCompilerHost(program.getCompilerOptions());
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, lang, ...rest) => (path.resolve(name) === file ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest));
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => path.resolve(name) === file || fileExists(name);
    const probe = ts.createProgram([file], program.getCompilerOptions(), host);
    const { count, problems } = problemsOf(probe, file);
    assert.equal(count, 2);
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, /:3 proxies cancelOrder but never calls it$/);
    assert.match(problems[1]!, /:4 proxies \d+ activities it never calls/);
  });
});
