import type { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, createClient, TransportError, type Client, type LeadInput, type LeadPatch } from '../../src/client/index.js';
import { LEAD_STAGES } from '../../src/domain/lead.js';
import { httpTransport, keepAliveAgent } from './http.js';
import type { Random } from './random.js';

/**
 * Drives N leads through the API over real HTTP: a create, then updates (PUT, PATCH, and
 * now and then a second POST of the same email, which merges into the lead), for a share
 * of the leads last an opt-out (`PATCH {"unsubscribed": true}`), each lead's writes in
 * order, the leads side by side. A lead's id is what the create's 202 names (ids are
 * random, not derived from the email): a lead's later writes, which need it, wait for
 * that answer, and every later 202 (a repeated POST of the email included) must name the
 * same lead. Every write carries an Idempotency-Key and is
 * retried with that same key until it gets a 202, so a retry can never apply twice; only
 * 202s count as acknowledged. Each write also carries its sequence number in
 * `custom.seq`, so the CRM's copy shows which write it holds, not only which version.
 * Requests go through the API client with its retries off: every attempt's status or
 * socket error is seen and counted here, and the retry policy below is the harness's own.
 */

export type ChangeKind = 'create' | 'replace' | 'patch' | 'duplicate-create' | 'opt-out';

export interface PlannedChange {
  seq: number;
  kind: ChangeKind;
  method: 'POST' | 'PUT' | 'PATCH';
  body: Record<string, unknown>;
  idempotencyKey: string;
}

export interface LeadRecord {
  index: number;
  email: string;
  /** The id the create's 202 named; undefined until then (and for good if no create was acknowledged). */
  id: string | undefined;
  planned: PlannedChange[];
  /** 202s received: one per distinct change, so the version the lead must reach. */
  acked: number;
  lastAckedSeq: number | null;
  taskIds: string[];
  /** A change given up on (its outcome is unknown); no later change was sent. */
  unresolved?: { seq: number; reason: string };
  /** A change answered with a 4xx that retrying cannot fix; no later change was sent. */
  rejected?: { seq: number; status: number; body: unknown };
  /** HTTP attempts per change, by seq. */
  attempts: number[];
  /** When the opt-out was acknowledged (epoch ms): no mail may reach the address after it (give or take a grace). */
  optedOutAt?: number;
}

/** One HTTP attempt, kept for the API-SIGTERM check (what happened to requests in flight). */
export interface AttemptRecord {
  startedAt: number;
  endedAt: number;
  /** '202', '503', 'ECONNRESET', … */
  outcome: string;
}

/** A read sent right after a 202, by the same client: read-your-writes, under faults. */
export interface ReadBack {
  kind: 'task' | 'lead';
  /** The task id, or the lead id. */
  id: string;
  /** '200', '404', '503:temporal_unavailable', 'ECONNRESET', … */
  outcome: string;
  at: number;
  /** For a lead read answered 200: the version it showed, and the version the 202s so far imply. */
  version?: number;
  ackedVersion?: number;
  /** For a read answered 200: its `read_source`. */
  source?: string;
}

export interface LoadOptions {
  apiUrl: string;
  /** Makes emails and Idempotency-Keys unique to this run. */
  runTag: string;
  leads: number;
  updatesPerLead: number;
  /** Lead starts are spread evenly over this time. */
  durationMs: number;
  /** Pause between two writes of one lead. */
  thinkMs: [number, number];
  /** Share of updates sent as a repeated POST of the lead's email. */
  duplicateCreateRate: number;
  /** Share of leads whose last change is an opt-out (default 0). */
  optOutRate?: number;
  maxInFlight: number;
  requestTimeoutMs: number;
  /** Per change, across all its retries. */
  giveUpAfterMs: number;
  random: Random;
  apiKey?: string | undefined;
}

export interface LoadResult {
  leads: LeadRecord[];
  attempts: AttemptRecord[];
  readBacks: ReadBack[];
  startedAt: number;
  endedAt: number;
}

export interface LoadProgress {
  planned: number;
  acked: number;
  inFlight: number;
  unresolved: number;
  rejected: number;
}

const FIRST_NAMES = ['ada', 'grace', 'alan', 'edsger', 'barbara', 'donald', 'margaret', 'ken'];
const COMPANIES = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Tyrell'];
const STAGES = LEAD_STAGES.filter((s) => s !== 'new');

type PlanOptions = Pick<LoadOptions, 'runTag' | 'leads' | 'updatesPerLead' | 'duplicateCreateRate' | 'optOutRate' | 'random'>;

export function planLeads(options: PlanOptions): LeadRecord[] {
  const records: LeadRecord[] = [];
  for (let index = 0; index < options.leads; index++) {
    const email = `chaos.${options.runTag}.${index}@leads.chaos.example`.toLowerCase();
    const planned = [plannedCreate(options, index, email)];
    for (let seq = 1; seq <= options.updatesPerLead; seq++) planned.push(plannedUpdate(options, index, email, seq));
    // Last, so the welcome email has long been sent: what reaches the address later is mail the opt-out should have stopped.
    const optOutRate = options.optOutRate ?? 0;
    if (optOutRate > 0 && options.random.next() < optOutRate) planned.push(plannedOptOut(options, index, planned.length));
    records.push({ index, email, id: undefined, planned, acked: 0, lastAckedSeq: null, taskIds: [], attempts: [] });
  }
  return records;
}

// Draws from `random` in a fixed order, so a seed replays the same plan.

function plannedCreate({ runTag, random }: PlanOptions, index: number, email: string): PlannedChange {
  return {
    seq: 0,
    kind: 'create',
    method: 'POST',
    body: {
      email,
      first_name: random.pick(FIRST_NAMES),
      last_name: `Lead${index}`,
      company: random.pick(COMPANIES),
      source: 'website',
      custom: { run: runTag, seq: 0 },
    },
    idempotencyKey: changeKey(runTag, index, 0),
  };
}

/** A repeated POST of the email (share `duplicateCreateRate`), else a PUT or a PATCH, half and half. */
function plannedUpdate(options: PlanOptions, index: number, email: string, seq: number): PlannedChange {
  const { runTag, random } = options;
  const custom = { run: runTag, seq };
  const idempotencyKey = changeKey(runTag, index, seq);
  if (random.next() < options.duplicateCreateRate) {
    const body = { email, company: `${random.pick(COMPANIES)} ${seq}`, custom };
    return { seq, kind: 'duplicate-create', method: 'POST', body, idempotencyKey };
  }
  if (random.chance(0.5)) {
    const body = {
      email,
      first_name: random.pick(FIRST_NAMES),
      last_name: `Lead${index}`,
      company: `${random.pick(COMPANIES)} ${seq}`,
      stage: random.pick(STAGES),
      tags: [`seq-${seq}`],
      custom,
    };
    return { seq, kind: 'replace', method: 'PUT', body, idempotencyKey };
  }
  const body = { stage: random.pick(STAGES), phone: `+1 555 ${String(1000 + seq)}`, custom };
  return { seq, kind: 'patch', method: 'PATCH', body, idempotencyKey };
}

function plannedOptOut({ runTag }: PlanOptions, index: number, seq: number): PlannedChange {
  const body = { unsubscribed: true, custom: { run: runTag, seq } };
  return { seq, kind: 'opt-out', method: 'PATCH', body, idempotencyKey: changeKey(runTag, index, seq) };
}

function changeKey(runTag: string, index: number, seq: number): string {
  return `chaos-${runTag}-${index}-${seq}`;
}

/** Bounds the number of requests in flight. */
class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  get inFlight(): number {
    return this.active;
  }
  async enter(): Promise<void> {
    if (this.active < this.limit) {
      this.active += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }
}

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** The status with the API's error code ('503:temporal_unavailable'), a bare status when the body has none, or the socket error's code. */
function describeFailure(err: unknown): string {
  if (err instanceof TransportError) return err.code;
  if (!(err instanceof ApiError)) throw err;
  const code = (err.body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? `${err.status}:${code}` : String(err.status);
}

export class LoadGenerator {
  readonly leads: LeadRecord[];
  readonly attempts: AttemptRecord[] = [];
  readonly readBacks: ReadBack[] = [];
  private readonly gate: Gate;
  private readonly agent: Agent;
  private readonly client: Client;
  private finished = false;

  constructor(private readonly options: LoadOptions) {
    this.leads = planLeads(options);
    this.gate = new Gate(options.maxInFlight);
    this.agent = keepAliveAgent(options.maxInFlight);
    this.client = createClient({
      baseUrl: options.apiUrl,
      apiKey: options.apiKey,
      retry: false,
      timeoutMs: options.requestTimeoutMs,
      transport: httpTransport(this.agent),
    });
  }

  /** Share of the planned writes that are done with (acknowledged, or given up on), 0..1. */
  doneShare(): number {
    let planned = 0;
    let done = 0;
    for (const lead of this.leads) {
      planned += lead.planned.length;
      done += lead.unresolved || lead.rejected ? lead.planned.length : lead.acked;
    }
    return this.finished || planned === 0 ? 1 : done / planned;
  }

  progress(): LoadProgress {
    return {
      planned: this.leads.reduce((n, l) => n + l.planned.length, 0),
      acked: this.leads.reduce((n, l) => n + l.acked, 0),
      inFlight: this.gate.inFlight,
      unresolved: this.leads.filter((l) => l.unresolved).length,
      rejected: this.leads.filter((l) => l.rejected).length,
    };
  }

  async run(): Promise<LoadResult> {
    const startedAt = Date.now();
    const spacing = this.leads.length > 1 ? this.options.durationMs / this.leads.length : 0;
    const sessions: Promise<void>[] = [];
    for (const lead of this.leads) {
      const due = startedAt + lead.index * spacing;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      sessions.push(this.session(lead));
    }
    await Promise.all(sessions);
    this.finished = true;
    this.agent.destroy();
    return { leads: this.leads, attempts: this.attempts, readBacks: this.readBacks, startedAt, endedAt: Date.now() };
  }

  private async session(lead: LeadRecord): Promise<void> {
    const [thinkMin, thinkMax] = this.options.thinkMs;
    for (const change of lead.planned) {
      if (change.seq > 0) await sleep(this.options.random.between(thinkMin, thinkMax));
      const ok = await this.deliver(lead, change);
      if (!ok) return;
    }
  }

  /**
   * Reads the task or the lead once, right after its 202, whatever fault is under way: a 404
   * would deny an acknowledged write. Not retried; a 503 is an honest "not now".
   */
  private async readBack(kind: ReadBack['kind'], id: string, ackedVersion?: number): Promise<void> {
    await this.gate.enter();
    let body: { version?: number; read_source?: string } | undefined;
    let outcome = '200';
    try {
      body = kind === 'task' ? await this.client.tasks.get(id) : await this.client.leads.get(id);
    } catch (err) {
      outcome = describeFailure(err);
    } finally {
      this.gate.leave();
    }
    const read: ReadBack = { kind, id, outcome, at: Date.now() };
    if (kind === 'lead' && body) {
      read.version = body.version ?? 0;
      read.ackedVersion = ackedVersion;
      read.source = body.read_source;
    }
    this.readBacks.push(read);
  }

  /** Sends one change until it is acknowledged; false when the lead must stop here. */
  private async deliver(lead: LeadRecord, change: PlannedChange): Promise<boolean> {
    const giveUpAt = Date.now() + this.options.giveUpAfterMs;
    for (let attempt = 1; ; attempt++) {
      lead.attempts[change.seq] = attempt;
      const { receipt, error, last } = await this.send(lead, change);
      if (!error) return this.acknowledged(lead, change, receipt);
      if (error instanceof ApiError && !RETRYABLE_STATUSES.has(error.status)) {
        lead.rejected = { seq: change.seq, status: error.status, body: error.body };
        return false;
      }
      const hinted = error instanceof ApiError && error.retryAfter !== undefined ? error.retryAfter * 1000 : undefined;
      const backoff = Math.min(2_000, 100 * 2 ** Math.min(attempt - 1, 5)) * this.options.random.between(0.5, 1.5);
      const delay = Math.min(hinted ?? backoff, 5_000);
      if (Date.now() + delay > giveUpAt) {
        lead.unresolved = { seq: change.seq, reason: `no 202 after ${attempt} attempts (last: ${last})` };
        return false;
      }
      await sleep(delay);
    }
  }

  /** One HTTP attempt, recorded; `last` describes its outcome. */
  private async send(lead: LeadRecord, change: PlannedChange): Promise<{ receipt?: unknown; error?: unknown; last: string }> {
    await this.gate.enter();
    const startedAt = Date.now();
    let attempt: { receipt?: unknown; error?: unknown; last: string };
    try {
      attempt = { receipt: await this.write(lead, change), last: '202' };
    } catch (error) {
      attempt = { error, last: describeFailure(error) };
    } finally {
      this.gate.leave();
    }
    this.attempts.push({ startedAt, endedAt: Date.now(), outcome: attempt.last });
    return attempt;
  }

  /**
   * The change as its method's client call, under the change's own Idempotency-Key. A PUT
   * or PATCH names the lead, so it goes only once the create's 202 told its id (the
   * session sends a lead's changes one after another, each after the last one's 202).
   */
  private write(lead: LeadRecord, change: PlannedChange): Promise<unknown> {
    const key = { idempotencyKey: change.idempotencyKey };
    if (change.method === 'POST') return this.client.leads.create(change.body as LeadInput, key);
    if (lead.id === undefined) throw new Error(`lead ${lead.email}: change ${change.seq} sent before the create's 202 named the lead`);
    if (change.method === 'PUT') return this.client.leads.replace(lead.id, change.body as LeadInput, key);
    return this.client.leads.patch(lead.id, change.body as LeadPatch, key);
  }

  /**
   * A 202: learns the lead's id from the create's, counts it (unless its receipt names
   * another lead than the one the email already has) and reads the task and the lead back.
   */
  private async acknowledged(lead: LeadRecord, change: PlannedChange, body: unknown): Promise<boolean> {
    const receipt = body as { id?: unknown; task_id?: string };
    if (lead.id === undefined && change.seq === 0 && typeof receipt.id === 'string') lead.id = receipt.id;
    if (lead.id === undefined || receipt.id !== lead.id) {
      const problem = `receipt id ${String(receipt.id)} is not ${lead.id ?? "a lead id (the create's receipt named none)"}`;
      lead.rejected = { seq: change.seq, status: 202, body: { problem, receipt } };
      return false;
    }
    lead.acked += 1;
    lead.lastAckedSeq = change.seq;
    if (change.kind === 'opt-out') lead.optedOutAt = Date.now();
    if (receipt.task_id) {
      lead.taskIds.push(receipt.task_id);
      await this.readBack('task', receipt.task_id);
    }
    await this.readBack('lead', lead.id, lead.acked);
    return true;
  }
}
