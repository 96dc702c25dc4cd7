import tseslint from 'typescript-eslint';

// Modules of src/temporal that workflow code imports: they run in the workflow sandbox.
const SANDBOXED = ['src/temporal/lead-messages.ts', 'src/temporal/automation-messages.ts', 'src/temporal/search-attributes.ts'];
const TOOLING = {
  group: ['**/tooling/**', '**/bench/**', '**/scripts/**'],
  message: 'production code (src/, worker/) must not import the dev tooling, benchmarks or scripts',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', 'coverage/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // Production functions stay short enough to read whole (blank lines and comments aside).
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    // Production code never reaches into the dev tooling, benchmarks or scripts.
    files: ['src/**/*.ts', 'worker/**/*.ts'],
    ignores: ['src/workflows/**/*.ts', ...SANDBOXED],
    rules: {
      'no-restricted-imports': ['error', { patterns: [TOOLING] }],
    },
  },
  {
    // Workflow code (and what only it and its clients share) must stay deterministic:
    // no I/O, no Node built-ins.
    files: ['src/workflows/**/*.ts', ...SANDBOXED],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'workflow code must not use Node built-ins (determinism)' },
            { group: ['fs', 'path', 'os', 'crypto', 'http', 'https', 'net', 'child_process'], message: 'workflow code must not do I/O' },
            { group: ['**/activities/*', '!**/activities/index.js'], message: 'import activity types only, via activities/index.js' },
            TOOLING,
          ],
        },
      ],
    },
  },
  {
    // The status page's browser code. Its own tsconfig (found by the project service) gives it
    // the DOM's globals and none of Node's, and the compiler reports undefined names; this says
    // why at lint time too, and keeps its imports to the folder the browser is served.
    files: ['src/api/console/client/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', ...['process', 'Buffer', 'require', 'module', '__dirname', '__filename', 'global'].map((name) => ({ name, message: 'browser code: no Node globals' }))],
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', '../*'], message: 'browser code imports only its sibling modules' }] }],
    },
  },
);
