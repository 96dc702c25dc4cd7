import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { leadServiceFromConfig } from '../../src/api/compose.js';
import { loadConfig } from '../../src/config.js';
import { startDevServer } from '../temporal/dev-server.js';
import { DURABLE_WAL } from '../stack/stack.js';
import { startCrmSimulator } from '../simulators/crm-simulator.js';
import { startSmtpSink } from '../simulators/smtp-sink.js';
import { activityDepsFromConfig, createWorkers } from '../../worker/workers.js';

// How much of an erased lead's personal data is left in the dev server's SQLite file: a lead
// with recognisable values is created, synced, changed, erased; then the database file and its
// WAL are searched for those values byte for byte, while the server runs and after it stopped.

export interface ResidueFigures {
  pragmas: string;
  /** Occurrences of the lead's email and name in the files, before the erasure. */
  before: { db: number; wal: number };
  /** The same after the erasure finished, the server still running. */
  afterErasure: { db: number; wal: number };
  /** After the server stopped. */
  afterStop: { db: number; wal: number };
  /** After a WAL checkpoint and a VACUUM of the stopped server's file. */
  afterVacuum: { db: number; wal: number };
  /** Table rows that still hold the values after the erasure (every table is read). */
  rows: number;
  erasureMs: number;
}

const occurrences = (file: string, needles: Buffer[]) => {
  if (!existsSync(file)) return 0;
  const data = readFileSync(file);
  let n = 0;
  for (const needle of needles) for (let i = data.indexOf(needle); i !== -1; i = data.indexOf(needle, i + 1)) n++;
  return n;
};

/**
 * Counts the rows of every table that still hold a needle, then checkpoints the WAL and
 * VACUUMs the file (the server stopped: VACUUM needs the database to itself).
 */
function vacuum(dbFile: string, needles: Buffer[]): number {
  // The dev server's schema spells JSON paths in double quotes, which SQLite reads as strings only when allowed.
  const db = new DatabaseSync(dbFile, { enableDoubleQuotedStringLiterals: true });
  try {
    let rows = 0;
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    for (const { name } of tables) {
      let all: unknown[];
      try {
        const statement = db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`);
        statement.setReadBigInts(true);
        all = statement.all();
      } catch {
        continue; // an FTS shadow table SQLite will not read directly
      }
      for (const row of all) {
        const values = Object.values(row as Record<string, unknown>);
        if (values.some((v) => needles.some((n) => (v instanceof Uint8Array ? Buffer.from(v).includes(n) : typeof v === 'string' && v.includes(n.toString()))))) rows++;
      }
    }
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    return rows;
  } finally {
    db.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureResidue(extraPragmas: Record<string, string>, log: (line: string) => void): Promise<ResidueFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'ao-residue-'));
  const dbFile = join(dir, 'temporal.sqlite');
  const pragmas = { ...DURABLE_WAL, ...extraPragmas };
  const server = await startDevServer({ dbFile, headless: true, sqlitePragmas: pragmas });
  const crm = await startCrmSimulator({ port: 0 });
  const smtp = await startSmtpSink({ smtpPort: 0, httpPort: 0 });
  const config = loadConfig({
    TEMPORAL_ADDRESS: server.address,
    CRM_BASE_URL: crm.url,
    SMTP_PORT: String(smtp.smtpPort),
    CRM_RATE_LIMIT_PER_SECOND: '0',
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const native = await NativeConnection.connect({ address: server.address });
  const deps = activityDepsFromConfig(config);
  let workers: Worker[] = [];
  let running: Promise<unknown> | undefined;
  try {
    workers = await createWorkers(config, native, deps, { shutdownGraceTime: '1s' });
    running = Promise.all(workers.map((w) => w.run()));
    const leads = leadServiceFromConfig(config, client);
    const tag = randomBytes(6).toString('hex');
    const email = `residue.${tag}@erasure-check.example`;
    const name = `Residuename${tag}`;
    const needles = [Buffer.from(email), Buffer.from(name)];
    const files = () => ({ db: occurrences(dbFile, needles), wal: occurrences(`${dbFile}-wal`, needles) });

    log(`  lead ${email} (${Object.entries(pragmas).map(([k, v]) => `${k}=${v}`).join(', ')})`);
    const { id } = await leads.create({ email, first_name: name, company: 'Erasure Check Ltd' });
    for (let i = 1; i <= 3; i++) await leads.update(id, 'patch', { custom: { step: i } });
    for (;;) {
      const { lead } = await leads.get(id);
      if (lead.version >= 4 && lead.crm.status === 'synced') break;
      await sleep(200);
    }
    const before = files();
    const started = Date.now();
    const { task_id } = await leads.erase(id);
    for (;;) {
      const { task } = await leads.task(task_id);
      if (task.status === 'completed') break;
      if (task.status === 'failed') throw new Error(`erasure failed: ${task.last_error}`);
      await sleep(200);
    }
    const erasureMs = Date.now() - started;
    // Let the server's deletion tasks and a WAL checkpoint or two happen.
    await sleep(3000);
    const afterErasure = files();
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await running;
    running = undefined;
    await leads.drain();
    await connection.close();
    await native.close();
    await server.stop();
    const afterStop = files();
    const rows = vacuum(dbFile, needles);
    const afterVacuum = files();
    return {
      pragmas: Object.entries(extraPragmas).map(([k, v]) => `${k}=${v}`).join(', ') || '(the stack default)',
      before,
      afterErasure,
      afterStop,
      afterVacuum,
      rows,
      erasureMs,
    };
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await running?.catch(() => undefined);
    deps.mailer.close();
    await crm.close();
    await smtp.close();
    await server.stop();
    if (process.env.RESIDUE_KEEP) log(`  kept ${dbFile}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
