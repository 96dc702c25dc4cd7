import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoadGenerator, type LoadOptions } from '../../tooling/chaos/load.js';
import { seededRandom } from '../../tooling/chaos/random.js';
import { listeningPort } from '../../tooling/simulators/sim-common.js';

// The load generator against a stand-in for the API whose lead ids are random: it must
// learn each lead's id from the create's 202, and never send a write naming a lead before.

interface Seen {
  method: string;
  /** The lead id in the path, or the email of a POST. */
  target: string;
}

let api: FastifyInstance;
let url: string;
let seen: Seen[];
/** The lead id of each email, made up on its first create. */
let ids: Map<string, string>;
/** Emails whose next create attempt fails with a 503 (once). */
let failOnce: Set<string>;
/** Emails whose repeated creates name another lead than the first did. */
let splitBrain: Set<string>;

beforeEach(async () => {
  seen = [];
  ids = new Map();
  failOnce = new Set();
  splitBrain = new Set();
  api = Fastify();
  const accepted = (id: string) => ({ id, task_id: `${id}.${randomBytes(4).toString('hex')}`, status: 'queued' });
  api.post<{ Body: { email: string } }>('/api/leads', async (request, reply) => {
    const { email } = request.body;
    seen.push({ method: 'POST', target: email });
    if (failOnce.delete(email)) {
      // The create lands, but its answer is lost: the retry must come back with the same id.
      ids.set(email, ids.get(email) ?? randomBytes(10).toString('hex'));
      return reply.code(503).send({ error: { code: 'temporal_unavailable', message: 'try again' } });
    }
    const known = ids.get(email);
    const id = known === undefined || splitBrain.has(email) ? randomBytes(10).toString('hex') : known;
    if (known === undefined) ids.set(email, id);
    return reply.code(202).send({ ...accepted(id), deduplicated: known !== undefined });
  });
  for (const method of ['PUT', 'PATCH'] as const) {
    api.route<{ Params: { id: string } }>({
      method,
      url: '/api/leads/:id',
      handler: async (request, reply) => {
        seen.push({ method, target: request.params.id });
        return reply.code(202).send(accepted(request.params.id));
      },
    });
  }
  api.get('/api/tasks/:id', async () => ({ status: 'completed' }));
  api.get('/api/leads/:id', async () => ({ version: 1, read_source: 'events' }));
  await api.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${listeningPort(api.server, 0)}`;
});

afterEach(async () => {
  await api.close();
});

function load(partial: Partial<LoadOptions> = {}): LoadGenerator {
  return new LoadGenerator({
    apiUrl: url,
    runTag: 'ids',
    leads: 4,
    updatesPerLead: 3,
    durationMs: 0,
    thinkMs: [0, 5],
    duplicateCreateRate: 0.3,
    optOutRate: 0.5,
    maxInFlight: 8,
    requestTimeoutMs: 5_000,
    giveUpAfterMs: 10_000,
    random: seededRandom(3),
    ...partial,
  });
}

describe('chaos load: lead ids from the API', () => {
  it('takes each lead\'s id from its create\'s 202 and sends its writes to that id only after it', async () => {
    const generator = load();
    failOnce.add(generator.leads[1]!.email);
    const { leads } = await generator.run();

    for (const lead of leads) {
      expect(lead).toMatchObject({ id: ids.get(lead.email), acked: lead.planned.length, lastAckedSeq: lead.planned.length - 1 });
      expect(lead.rejected).toBeUndefined();
      const firstWrite = seen.findIndex((s) => s.target === lead.id);
      const lastCreateBeforeIt = seen.slice(0, firstWrite).findIndex((s) => s.method === 'POST' && s.target === lead.email);
      expect(lastCreateBeforeIt).toBeGreaterThanOrEqual(0);
    }
    // The lost answer was retried and came back with the id the create had made.
    expect(leads[1]!.attempts[0]).toBe(2);
    expect(seen.filter((s) => s.method !== 'POST').every((s) => [...ids.values()].includes(s.target))).toBe(true);
  });

  it('records when an opt-out was acknowledged', async () => {
    const before = Date.now();
    const { leads } = await load({ optOutRate: 1, leads: 2 }).run();
    for (const lead of leads) {
      expect(lead.planned.at(-1)!.kind).toBe('opt-out');
      expect(lead.optedOutAt).toBeGreaterThanOrEqual(before);
      expect(lead.optedOutAt).toBeLessThanOrEqual(Date.now());
    }
    const noOptOut = await load({ optOutRate: 0, leads: 1 }).run();
    expect(noOptOut.leads[0]!.optedOutAt).toBeUndefined();
  });

  it('stops a lead whose repeated create names another lead', async () => {
    const generator = load({ leads: 1, updatesPerLead: 6, duplicateCreateRate: 1, optOutRate: 0 });
    splitBrain.add(generator.leads[0]!.email);
    const [lead] = (await generator.run()).leads;
    expect(lead!.id).toBe(ids.get(lead!.email));
    expect(lead!.acked).toBe(1);
    expect(lead!.rejected).toMatchObject({ seq: 1, status: 202, body: { problem: expect.stringMatching(new RegExp(`is not ${lead!.id}$`)) } });
  });
});
