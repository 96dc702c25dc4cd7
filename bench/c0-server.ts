import cluster from 'node:cluster';
import Fastify from 'fastify';

// Ceiling C0: a bare Fastify server with the API's routes, answering at once with fixed
// bodies (202 for writes, 200 for reads) and no validation or Temporal behind it. What HTTP
// and the load generator cost on this machine. Runs as its own process(es), like the API:
//   C0_PORT=… C0_PROCESSES=2 node dist/bench/c0-server.js

const host = process.env.C0_HOST ?? '127.0.0.1';
const port = Number(process.env.C0_PORT ?? 0);
const processes = Math.max(1, Number(process.env.C0_PROCESSES ?? 1));

const LEAD_ID = 'aaaaaaaaaaaaaaaaaaaa';
const TASK_ID = `${LEAD_ID}.bbbbbbbbbbbb`;
const now = new Date().toISOString();
const lead = {
  id: LEAD_ID,
  email: 'ada@bench.example.com',
  first_name: 'Ada',
  version: 1,
  score: 50,
  stage: 'new',
  crm: { status: 'synced', synced_version: 1 },
  created_at: now,
  updated_at: now,
  read_source: 'workflow',
};
const task = {
  task_id: TASK_ID,
  lead_id: LEAD_ID,
  type: 'crm_update',
  op: 'replace',
  status: 'completed',
  version: 2,
  attempts: 1,
  last_error: null,
  created_at: now,
  updated_at: now,
  steps: [],
  read_source: 'workflow',
};

async function serve(): Promise<void> {
  const app = Fastify({ logger: false });
  app.post('/api/leads', async (_req, reply) =>
    reply.code(202).send({ id: LEAD_ID, task_id: TASK_ID, status: 'queued', deduplicated: false }),
  );
  app.get('/api/leads/:id', async (_req, reply) => reply.header('x-read-source', 'workflow').send(lead));
  app.put('/api/leads/:id', async (_req, reply) => reply.code(202).send({ id: LEAD_ID, task_id: TASK_ID, status: 'queued' }));
  app.get('/api/tasks/:task_id', async (_req, reply) => reply.header('x-read-source', 'workflow').send(task));
  await app.listen({ host, port });
  const stop = () => void app.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (cluster.isPrimary) console.log(`c0: listening on http://${host}:${port} (1 process)`);
}

if (cluster.isPrimary && processes > 1) {
  let listening = 0;
  for (let i = 0; i < processes; i++) cluster.fork();
  cluster.on('listening', () => {
    if (++listening === processes) console.log(`c0: listening on http://${host}:${port} (${processes} processes)`);
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 200);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  await serve();
}
