import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUserLoad } from '../../bench/load/user-load.js';
import { EmailSource } from '../../bench/workload.js';

// The think-time driver against a stand-in API on loopback: every user runs the seed-mix
// loop in order, pauses between requests, and every answer is counted on its route.

let server: Server;
let url: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url?.split('/').slice(0, 3).join('/')}`);
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET') res.setHeader('x-read-source', 'events');
      res.statusCode = req.method === 'GET' ? 200 : 202;
      res.end(JSON.stringify({ id: 'lead1', task_id: 'lead1.task', status: 'queued' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('runUserLoad', () => {
  it('runs the seed-mix loop per user with think time and counts every answer on its route', async () => {
    const run = await runUserLoad({
      label: 'test',
      url,
      users: 4,
      thinkMs: 40,
      warmupS: 0,
      durationS: 1,
      timeoutS: 5,
      emails: new EmailSource('t'),
      serverProcesses: 1,
    });
    const count = (route: string) => run.routes.find((r) => r.route === route)!.responses;
    expect(count('create')).toBeGreaterThan(4);
    // 4 users, one request per ~40 ms think time each, for 1 s: about 100 requests, far from a closed loop.
    expect(run.totals.attempts).toBeGreaterThan(40);
    expect(run.totals.attempts).toBeLessThan(200);
    expect(run.totals.successRate).toBe(1);
    expect(run.readSources.events).toBe(count('get') + count('task'));
    // In order within a loop: a GET of a lead never comes before its first create.
    expect(seen.indexOf('GET /api/leads')).toBeGreaterThan(seen.indexOf('POST /api/leads'));
    expect(run.mode).toBe('open');
  });
});
