import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['scratch/**', 'dist/**', 'node_modules/**', 'coverage/**', 'data/**', 'views/static/vendor/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
        document: 'readonly',
        window: 'readonly',
        EventSource: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message:
            'Read configuration through src/config/ only (src/config/environment.ts reads the environment).',
        },
      ],
    },
  },
  {
    // The pure core: parsers, scorers and report assembly never touch the network.
    files: [
      'src/spf/record.ts',
      'src/dmarc/record.ts',
      'src/dkim/record.ts',
      'src/mta-sts/record.ts',
      'src/tls-rpt/record.ts',
      'src/bimi/record.ts',
      'src/dns/tag-list.ts',
      'src/report/**',
      'src/bounce/*.ts',
      'src/input/**',
      'src/tls/evaluate.ts',
      'src/smtp/reply.ts',
      'src/smtp/ehlo.ts',
      'src/smtp/command.ts',
      'src/smtp/classify.ts',
      'src/smtp/model.ts',
      'src/tls/certificate.ts',
      'src/smtp/evaluate.ts',
      'src/smtp/evaluate-*.ts',
      'src/monitor/summary.ts',
      'src/monitor/diff.ts',
      'src/monitor/alerts.ts',
      'src/monitor/model.ts',
      'src/monitor/schedule.ts',
      'src/monitor/message.ts',
      'src/cli/nagios.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:net',
              importNames: ['connect', 'createConnection', 'createServer', 'Socket', 'Server'],
              message: 'Pure modules must not do I/O; take facts as parameters.',
            },
            ...[
              'node:tls',
              'node:dgram',
              'node:http',
              'node:https',
              'dns2',
              'ioredis',
              'express',
              'bullmq',
            ].map((name) => ({ name, message: 'Pure modules must not do I/O; take facts as parameters.' })),
          ],
        },
      ],
    },
  },
  {
    files: ['src/config/environment.ts', 'src/cli/main.ts', 'test/**', 'scripts/**', 'bin/**', 'bench/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['bin/**/*.js', 'scripts/**/*.mjs', 'views/static/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
