import { defineConfig } from 'vitest/config';

// The cluster tier (`npm run test:cluster`): PostgreSQL, the Temporal server as separate
// processes and the app on test hosts in network namespaces. It runs after the other tiers,
// alone, so its load and faults do not share the two cores with them; it needs no dev server.
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 900_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
