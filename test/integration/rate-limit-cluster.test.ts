import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startApiCluster, type ApiCluster } from '../support/api-cluster.js';

// The rate limit of an API of two processes (node:cluster, built and run by plain Node) is
// one limit: the primary keeps the buckets. Refusals come before any Temporal call, so no
// Temporal is needed; each request is its own connection, which the kernel hands to the
// processes in turn, so a limit counted per process would let twice as many through.

const LIMIT = 10;
let cluster: ApiCluster;

beforeAll(async () => {
  cluster = await startApiCluster(loadConfig({}), 2, { RATE_LIMIT_PER_MINUTE: String(LIMIT), API_KEYS: 'cluster-test-key-0123456789' });
}, 180_000);

afterAll(async () => {
  await cluster?.close();
});

/** One GET on a connection of its own (no keep-alive), so connections spread over the processes. */
function getOnNewConnection(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { authorization: 'Bearer not-a-key-0123456789' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the rate limit across API processes', () => {
  it('lets LIMIT requests through for the whole API, not LIMIT per process', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3 * LIMIT; i++) statuses.push(await getOnNewConnection(`${cluster.baseUrl}/api/leads?limit=1`));
    // Without a valid key: 401 while the client address has budget, 429 after.
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2 * LIMIT);
  }, 60_000);
});
