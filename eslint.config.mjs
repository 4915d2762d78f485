// Guards what the compiler cannot: workflow determinism and unhandled promises.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'test/histories/**', 'eslint.config.mjs'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    // Issue 16: routes and pages only translate HTTP (parse, authorize, call one service function,
    // present). SQL, transactions, crypto, the Temporal client and providers live in services,
    // repositories and activities. Types may still be imported (a route's deps name them).
    files: ['api/routes/**/*.ts', 'api/pages/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kysely', allowTypeImports: true, message: 'SQL belongs to db/repositories; the route calls a service.' },
            { name: '@temporalio/client', allowTypeImports: true, message: 'Starting or updating a process belongs to a service (api/services/processes.ts).' },
            { name: 'crypto', message: 'Crypto belongs to a service or lib.' },
            { name: 'node:crypto', message: 'Crypto belongs to a service or lib.' },
          ],
          patterns: [
            {
              group: ['**/db/repositories/**', '**/temporal/**', '**/lib/mailer', '**/lib/sms', '**/lib/payments'],
              allowTypeImports: true,
              message: 'Routes call services; services call repositories, the Temporal client and providers.',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.property.name=/^(selectFrom|insertInto|updateTable|deleteFrom|transaction|executeUpdate|signalWithStart|getHandle)$/]',
          message: 'Routes only translate HTTP: SQL and process calls belong to a service.',
        },
      ],
    },
  },
  {
    // Workflow code is replayed: it must not do I/O or pull activity code into the sandbox.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code runs in a deterministic sandbox: no Node builtins.' })),
          patterns: [
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: "Import activities as types only, and proxy just the ones called: proxyActivities<Pick<Activities, 'a' | 'b'>>().",
            },
            {
              group: ['**/api/**', '**/db/**', '**/temporal/**', '**/scripts/**', '**/lib/dev/**', '**/lib/config', '**/lib/logger'],
              message: 'Workflow code may only import side-effect-free modules (workflows/shared, lib/rules).',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'process', message: 'Workflows have no process environment.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use uuid4() or deterministic input.' },
        { object: 'Date', property: 'now', message: 'Take durations from lib/rules and let timers measure them.' },
      ],
    },
  },
);
