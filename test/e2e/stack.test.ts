import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { getFreePort } from '../../tooling/temporal/ports.js';
import { eventually } from '../support/harness.js';
import { npmStart, type NpmStart } from '../support/npm-start.js';

// Starts the stack exactly as the README says (`npm start`), on free ports and a fresh
// SQLite file, drives it over HTTP, stops it with Ctrl-C, and starts it again on the
// same file to show that state survives.

const dataDir = mkdtempSync(join(tmpdir(), 'ao-e2e-'));

type Exit = Awaited<NpmStart['exited']>;

/** Ctrl-C in a terminal signals the whole process group; npm itself then dies of SIGINT. */
async function ctrlC(run: NpmStart): Promise<Exit> {
  await run.stop();
  return run.exited;
}

const cleanExit = (exit: Exit) => exit.code === 0 || exit.signal === 'SIGINT';

async function portIsClosed(port: string): Promise<true | undefined> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return undefined;
  } catch {
    return true;
  }
}

const ports = {
  PORT: String(await getFreePort()),
  OPS_PORT: String(await getFreePort()),
  TEMPORAL_ADDRESS: `127.0.0.1:${await getFreePort()}`,
  TEMPORAL_UI_PORT: String(await getFreePort()),
  CRM_BASE_URL: `http://127.0.0.1:${await getFreePort()}`,
  SMTP_PORT: String(await getFreePort()),
  SMTP_SINK_HTTP_PORT: String(await getFreePort()),
};
const env = { ...ports, TEMPORAL_DB_FILE: join(dataDir, 'temporal.sqlite'), API_PROCESSES: '2', LOG_LEVEL: 'warn' };
const api = `http://127.0.0.1:${ports.PORT}`;
const ops = `http://127.0.0.1:${ports.OPS_PORT}`;
const json = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as any };
};
// Retries off: `eventually` below does the waiting, and every answer that is not a 2xx throws.
const client = createClient({ baseUrl: api, retry: false });

let running: NpmStart | undefined;
afterAll(async () => {
  if (running && running.child.exitCode === null) await ctrlC(running);
});

describe('npm start', { timeout: 300_000 }, () => {
  let leadId = '';

  it('brings the stack up and carries a lead to the CRM and the mailbox', async () => {
    running = await npmStart(env);
    const out = running.output();
    expect(out).toContain(`API             ${api}`);
    expect(out).toMatch(/Web UI: http:\/\/127\.0\.0\.1:\d+/);

    expect((await json(`${ops}/ready`)).status).toBe(200);
    expect(out).toContain(`Status page     ${ops}/console`);
    // The operators' endpoints are on the ops listener only.
    for (const path of ['/ready', '/metrics', '/console']) expect((await fetch(`${api}${path}`)).status, path).toBe(404);
    const created = await client.leads.create({ email: 'grace@navy.example', first_name: 'Grace' });
    expect(created.status).toBe('queued');
    leadId = created.id;
    const put = await client.leads.replace(leadId, { email: 'updated@example.com', first_name: 'Updated', last_name: 'Lead' });
    expect(put.status).toBe('queued');

    const task = await eventually(async () => {
      const seen = await client.tasks.get(put.task_id);
      return seen.status === 'completed' ? seen : undefined;
    }, { what: 'the PUT task to complete' });
    expect(task.version).toBe(2);

    const contact = await json(`${ports.CRM_BASE_URL}/contacts/${leadId}`);
    expect(contact.body).toMatchObject({ version: 2, creates: 1 });
    const mail = await json(`http://127.0.0.1:${ports.SMTP_SINK_HTTP_PORT}/messages?to=grace@navy.example`);
    expect(mail.body.messages).toHaveLength(1);
  });

  it('prints every metrics address, and each one serves Prometheus text', async () => {
    const out = running!.output();
    expect(out).toContain(`Metrics         API ${ops}/metrics`);
    const worker = out.match(/^ +worker (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m)?.[1];
    const temporal = out.match(/^ +Temporal (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m)?.[1];
    expect(worker, out).toBeDefined();
    expect(temporal, out).toBeDefined();
    const text = async (url: string) => (await fetch(url)).text();

    // Two API processes: the primary sums both, so every request so far is counted once, whichever took it.
    const apiMetrics = await text(`${ops}/metrics`);
    const created = apiMetrics.match(/^http_request_duration_seconds_count\{[^}]*route="\/api\/leads"[^}]*status_code="202"[^}]*\} (\d+)$/m);
    expect(Number(created?.[1]), apiMetrics.slice(0, 2000)).toBe(1);
    // The SDK core's own metrics, after the worker has polled and run tasks.
    const workerMetrics = await text(worker!);
    expect(workerMetrics).toMatch(/^temporal_workflow_task_execution_latency_count\{/m);
    // The business counters, from the activities: two lead versions synced, one welcome email.
    expect(workerMetrics).toMatch(/^leads_crm_synced\{[^}]*activityType="syncLeadToCrm"[^}]*\} 2$/m);
    expect(workerMetrics).toMatch(/^emails_sent\{[^}]*activityType="sendLeadEmail"[^}]*\} 1$/m);
    expect(await text(temporal!)).toMatch(/^# TYPE \w+ (counter|gauge|histogram)$/m);
  });

  it('brings a crashed Temporal dev server back by itself, and writes succeed again within 5 s', async () => {
    const port = ports.TEMPORAL_ADDRESS.split(':')[1]!;
    const { execSync } = await import('node:child_process');
    const pids = execSync(`ps -eo pid,args | grep -F -- 'start-dev' | grep -F -- '--port ${port}' | grep -v grep || true`)
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => Number(line.trim().split(/\s+/)[0]));
    expect(pids).toHaveLength(1);
    const killedAt = Date.now();
    process.kill(pids[0]!, 'SIGKILL');

    // Nobody touches the stack: the API and the worker reconnect to the new server. Writes
    // are tried from the moment of the kill, one request each (the client does not retry).
    const created = await eventually(() => client.leads.create({ email: 'after-crash@example.com' }), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: 'a write to succeed after the restart',
    });
    const comebackMs = Date.now() - killedAt;
    console.log(`e2e: the first write after the dev server's SIGKILL was accepted ${comebackMs} ms after it`);
    await eventually(async () => (running!.output().includes('Temporal dev server is back') ? true : undefined), {
      timeoutMs: 120_000,
      what: 'npm start to restart the dev server',
    });
    expect(running!.output()).toMatch(/Temporal dev server exited unexpectedly \(signal SIGKILL\); restarting it/);
    // Issue #24: the comeback stays within 5 s (2.9 s was measured under load with npm start).
    expect(comebackMs, `first write accepted ${comebackMs} ms after the SIGKILL`).toBeLessThan(5000);
    await eventually(async () => ((await client.tasks.get(created.task_id)).status === 'completed' ? true : undefined), {
      timeoutMs: 90_000,
      what: 'the write to be processed by the reconnected worker',
    });
    // The lead written before the crash is still there (same SQLite file).
    expect(await client.leads.get(leadId)).toMatchObject({ version: 2 });
  });

  it('stops everything on Ctrl-C, leaving no process behind', async () => {
    expect(cleanExit(await ctrlC(running!))).toBe(true);
    // Every port closes: nothing was orphaned.
    const children = [ports.PORT, ports.OPS_PORT, ports.TEMPORAL_ADDRESS.split(':')[1]!, ports.SMTP_SINK_HTTP_PORT, new URL(ports.CRM_BASE_URL).port];
    for (const port of children) {
      await eventually(() => portIsClosed(port), { timeoutMs: 20_000, what: `port ${port} to close` });
    }
    const leftovers = await import('node:child_process').then(({ execSync }) =>
      execSync(`ps -eo args | grep -F -- '${ports.TEMPORAL_ADDRESS.split(':')[1]}' | grep -v grep || true`).toString(),
    );
    expect(leftovers.trim()).toBe('');
  });

  it('keeps its state across a restart on the same SQLite file', async () => {
    running = await npmStart(env);
    expect(await client.leads.get(leadId)).toMatchObject({ id: leadId, version: 2, email: 'updated@example.com' });
    expect(cleanExit(await ctrlC(running))).toBe(true);
  });

  it('exits non-zero with a clear message when a port is taken', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer().listen(Number(ports.PORT), '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    try {
      // npmStart rejects when npm start exits before the stack is up, with its output.
      const failure = await npmStart(env).then(
        async (started) => {
          await started.stop();
          return 'npm start came up although its port was taken';
        },
        (err: Error) => err.message,
      );
      expect(failure).toMatch(/npm start exited \(code [1-9]\d*\) before the stack was up/);
      expect(failure).toContain(`port ${ports.PORT}`);
      expect(failure).toMatch(/already in use/);
    } finally {
      blocker.close();
    }
  });
});
