// Issue 16, item 3: durations in what people read (emails, SMS, problem titles and details, route
// summaries) come from lib/rules.ts through describeDuration, so changing a rule changes its text.
// This reads every string and template literal of the source tree and fails on a duration written by hand.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..', '..');
const dirs = ['activities', 'workflows', 'api', 'lib', 'db', 'temporal'];
const handWritten = /\b(\d+|one|two|three|seven|ten|fourteen|thirty|an)\s+(minutes?|hours?|days?|weeks?|months?|years?)\b/i;
// Temporal's own duration strings ('1 minute', '5 seconds') in activity and schedule options are settings, not text.
const temporalDuration = /^\d+\s+(seconds?|minutes?|hours?|days?)$/;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && path !== join('lib', 'rules.ts') ? [path] : [];
  });
}

function literalsOf(file: string): { text: string; line: number }[] {
  const source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const found: { text: string; line: number }[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      found.push({ text: node.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('durations in text', () => {
  it('are computed from lib/rules.ts, never written by hand', () => {
    const offenders = dirs
      .flatMap(sources)
      .flatMap((file) => literalsOf(file).map((l) => ({ file, ...l })))
      .filter(({ text }) => handWritten.test(text) && !temporalDuration.test(text.trim()))
      .map(({ file, line, text }) => `${relative(root, join(root, file))}:${line}: ${text.slice(0, 100)}`);
    assert.deepEqual(offenders, []);
  });
});
