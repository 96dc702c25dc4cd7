import { setTimeout as sleep } from 'node:timers/promises';
import type { CrmFaults } from '../simulators/crm-simulator.js';
import type { HubSpotFaults } from '../simulators/hubspot/state.js';

/**
 * The REST run's CRM faults on the HubSpot simulator. Those are rates per write (500s,
 * 429s, hangs); HubSpot's switches are counts and one latency (`failNext`, `rateLimitNext`,
 * `latencyMs`), and its requests carry batches of writes. So every tick the driver counts
 * what arrived since the last, draws the dice, and sets the switches for what came up:
 *
 * - 500: `failNext` = the 500s drawn, a die per request: a batch's 500 fails all its writes,
 *   so each write still fails at the REST rate.
 * - hang: `latencyMs` beyond the adapter's timeout until a request arrived; the requests
 *   arriving meanwhile time out at the worker, and the simulator applies them late (an answer
 *   lost on the way back, which is what a hang is to the client).
 * - 429: `rateLimitNext` = 1, at most once per 30 s: HubSpot's 429 stops the worker's sends
 *   for a whole 10 s window (as it should), so at the REST rate the workers would spend the
 *   run paused, testing the pause rather than the other faults.
 *
 * A hang or a 429 comes up when a die per write does: the REST run's events, which batching
 * would otherwise make five times rarer (a short run could then see none). For the same
 * reason the scenario's first request is answered 500 whatever the dice say: batches make
 * requests few (19 in a CI run), and a 20% die per request then comes up empty in about one
 * run in seventy (seen in CI), leaving the 500 path of the run untested.
 */

export interface FaultRates {
  errorRate: number;
  rate429: number;
  hangRate: number;
}

/** What arrived since the last tick: API requests, and the writes they carried. */
export interface Arrivals {
  requests: number;
  records: number;
}

/** What one tick injects. */
export interface TickFaults {
  failNext: number;
  rateLimit: boolean;
  hang: boolean;
}

export function drawTick(arrived: Arrivals, rates: FaultRates, random: () => number): TickFaults {
  const out: TickFaults = { failNext: 0, rateLimit: false, hang: false };
  for (let i = 0; i < arrived.requests; i++) if (random() < rates.errorRate) out.failNext += 1;
  for (let i = 0; i < arrived.records; i++) {
    if (random() < rates.rate429) out.rateLimit = true;
    if (random() < rates.hangRate) out.hang = true;
  }
  return out;
}

/** The base latency of every request: HubSpot's switch has no jitter, so the mean of the REST one's range. */
export function baseLatencyMs(faults: Partial<CrmFaults>): number {
  return (faults.latencyMs ?? 0) + Math.round((faults.latencyJitterMs ?? 0) / 2);
}

const TICK_MS = 500;
// Longer than a 429's pause, when no request comes.
const HANG_MAX_MS = 15_000;
const RATE_LIMIT_EVERY_MS = 30_000;

export interface HubSpotFaultDriverOptions {
  setFaults(faults: Partial<HubSpotFaults>): Promise<void>;
  /** API requests the simulator has received so far, and the writes it took. */
  arrivals(): Promise<Arrivals>;
  /** The latency of a hang: beyond the adapter's CRM_TIMEOUT_MS. */
  hangMs: number;
  onError(err: unknown): void;
  random?: () => number;
}

export class HubSpotFaultDriver {
  /** Requests that arrived during hang pulses, over the driver's life. */
  hung = 0;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly options: HubSpotFaultDriverOptions) {}

  /** Sets the base latency, then injects the rates' faults until stopped. */
  async start(faults: Partial<CrmFaults>): Promise<void> {
    await this.stop();
    const latencyMs = baseLatencyMs(faults);
    await this.options.setFaults({ latencyMs });
    const rates = { errorRate: faults.errorRate ?? 0, rate429: faults.rate429 ?? 0, hangRate: faults.hangRate ?? 0 };
    if (rates.errorRate + rates.rate429 + rates.hangRate === 0) return;
    if (rates.errorRate > 0) await this.options.setFaults({ failNext: 1 });
    this.stopped = false;
    this.running = this.run(rates, latencyMs);
  }

  /** Ends the injection after the tick under way (a hang pulse ends with the base latency back). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    this.running = undefined;
  }

  private async run(rates: FaultRates, latencyMs: number): Promise<void> {
    const { setFaults, arrivals } = this.options;
    const random = this.options.random ?? Math.random;
    let seen = await arrivals().catch(() => ({ requests: 0, records: 0 }));
    let next429At = 0;
    while (!this.stopped) {
      await sleep(TICK_MS);
      try {
        const now = await arrivals();
        const tick = drawTick({ requests: now.requests - seen.requests, records: now.records - seen.records }, rates, random);
        seen = now;
        if (tick.failNext > 0) await setFaults({ failNext: tick.failNext });
        if (tick.rateLimit && Date.now() >= next429At) {
          await setFaults({ rateLimitNext: 1 });
          next429At = Date.now() + RATE_LIMIT_EVERY_MS;
        }
        if (tick.hang) seen = await this.hang(latencyMs);
      } catch (err) {
        this.options.onError(err);
      }
    }
  }

  /** Holds requests past the timeout until one arrived (or the driver stops); what had arrived after. */
  private async hang(latencyMs: number): Promise<Arrivals> {
    const { setFaults, arrivals, hangMs } = this.options;
    const before = await arrivals();
    await setFaults({ latencyMs: hangMs });
    let now = before;
    const until = Date.now() + HANG_MAX_MS;
    while (now.requests === before.requests && !this.stopped && Date.now() < until) {
      await sleep(25);
      now = await arrivals();
    }
    await setFaults({ latencyMs });
    const after = await arrivals();
    this.hung += after.requests - before.requests;
    return after;
  }
}
