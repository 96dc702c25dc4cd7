import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The cluster tier runs on its own after the rest (vitest.cluster.config.ts).
    exclude: ['test/cluster/**', 'node_modules/**'],
    // The Temporal native bridge is not safe under worker threads.
    pool: 'forks',
    // One real Temporal dev server for the whole run (test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
