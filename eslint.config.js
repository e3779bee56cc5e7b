import js from '@eslint/js';
import ts from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import svelteConfig from './svelte.config.js';

export default ts.config(
  {
    ignores: [
      'dist',
      'node_modules',
      'static/models',
      'test/fixtures/generated',
      'playwright-report',
      'test-results',
    ],
  },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  prettier,
  ...svelte.configs.prettier,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: {
        projectService: true,
        extraFileExtensions: ['.svelte'],
        parser: ts.parser,
        svelteConfig,
      },
    },
  },
  {
    // Components hold view parameters only: no GPU objects, no engine internals (docs/ARCHITECTURE.md).
    files: ['src/components/**/*.svelte', 'src/App.svelte'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/gpu/*', '**/engine/*', '**/render/*', '**/io/*'],
              message: 'Components talk to state/, never to gpu/, engine/, render/ or io/.',
            },
          ],
        },
      ],
    },
  },

  // Imports run one way: components → state → instruments / render → engine → gpu → io → model.
  ...[
    ['src/model/**', ['io', 'gpu', 'engine', 'instruments', 'render', 'viz', 'state', 'components', 'cli']],
    ['src/io/**', ['gpu', 'engine', 'instruments', 'render', 'viz', 'state', 'components', 'cli']],
    ['src/gpu/**', ['engine', 'instruments', 'render', 'viz', 'state', 'components', 'cli']],
    ['src/viz/**', ['gpu', 'engine', 'render', 'state', 'components', 'cli', 'io']],
    ['src/engine/**', ['instruments', 'render', 'state', 'components', 'cli']],
    ['src/instruments/**', ['render', 'state', 'components', 'cli']],
    ['src/render/**', ['state', 'components', 'cli']],
    ['src/state/**', ['components', 'cli']],
  ].map(([folder, banned]) => ({
    files: [folder],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: banned.map((b) => ({
            group: [`**/${b}/*`],
            message: `${folder.slice(4, -3)}/ may not import ${b}/ (docs/ARCHITECTURE.md: imports run one way).`,
          })),
        },
      ],
    },
  })),
);
