// ESLint flat config. The rule that matters most: workflow code stays
// deterministic, so temporal/workflows may import only @temporalio/workflow and
// pure modules (temporal/dsl, temporal/shared), never Node built-ins, the ORM,
// HTTP clients or the NestJS app.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-*/**', 'node_modules/**', '.data/**', 'coverage/**', 'bin/**', 'scripts/build.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { ecmaVersion: 2022, sourceType: 'module' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.name='eval']", message: 'no eval' }],
      'no-new-func': 'error',
    },
  },
  {
    files: ['temporal/workflows/**/*.ts', 'temporal/dsl/**/*.ts', 'temporal/shared/**/*.ts'],
    // Not loaded by workflow code: JSONata (reads the clock) and the definition schema (zod; validation happens before a run starts).
    ignores: ['temporal/dsl/expressions.ts', 'temporal/dsl/schema.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflow code must be deterministic: no Node built-ins.' },
            { group: ['@src/*', '**/src/**'], message: 'Workflow code must not import the NestJS app.' },
            { group: ['@engine/activities/*', '@engine/worker'], allowTypeImports: true, message: 'Workflows import activities as types only (proxyActivities).' },
          ],
          paths: [
            'fs', 'path', 'crypto', 'http', 'https', 'net', 'dns', 'os', 'child_process', 'timers', 'zlib', 'stream', 'url', 'util',
            'typeorm', 'pg', '@nestjs/common', '@nestjs/core', '@nestjs/typeorm', 'axios', 'node-fetch', 'undici', 'openai', 'nodemailer',
            '@temporalio/activity', '@temporalio/worker', '@temporalio/client', 'jsonata',
          ]
            .map((name) => ({ name, message: 'Workflow code must be deterministic: import only @temporalio/workflow and pure modules.' }))
            .concat(
              ['@engine/dsl', '@engine/dsl/index', '@engine/dsl/validate', '@engine/dsl/schema', 'zod'].map((name) => ({
                name,
                message: 'Definitions are validated when saved and before a run starts, never in workflow code.',
              })),
            ),
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'use sleep() from @temporalio/workflow' }, { name: 'setInterval', message: 'not in workflow code' }],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'use uuid4()/random from @temporalio/workflow' },
        { object: 'Date', property: 'now', message: 'workflow time comes from the sandboxed Date' },
      ],
    },
  },
  {
    // The admin UI: plain browser JavaScript, no build step.
    files: ['src/admin/public/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'sessionStorage', 'fetch', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'confirm', 'prompt'].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    // Tests read loosely typed JSON answers.
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);
