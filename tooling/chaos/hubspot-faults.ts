import { setTimeout as sleep } from 'node:timers/promises';
import type { CrmFaults } from '../simulators/crm-simulator.js';
import type { HubSpotFaults } from '../simulators/hubspot/state.js';

/**
 * The REST run's CRM faults on the HubSpot simulator. Those are rates per request (500s,
 * 429s, hangs); HubSpot's switches are counts and one latency (`failNext`, `rateLimitNext`,
 * `latencyMs`). So every tick the driver counts the requests that arrived since the last
 * and draws a die per request for each rate, then sets the switches for what came up:
 * the next requests get the 500s and 429s drawn for the last ones, at the same rate.
 *
 * - 500: `failNext` = the 500s drawn.
 * - 429: `rateLimitNext` = 1, at most once per rolling window: HubSpot's 429 stops the
 *   worker's sends for a whole window (as it should), so each one costs 10 s of the run.
 * - hang: `latencyMs` beyond the adapter's timeout until a request arrives (a second at most);
 *   the requests arriving meanwhile time out at the worker, and the simulator applies them late (an answer lost on
 *   the way back, which is what a hang is to the client).
 */

export interface FaultRates {
  errorRate: number;
  rate429: number;
  hangRate: number;
}

/** What one tick injects, given the requests that arrived during the last one. */
export interface TickFaults {
  failNext: number;
  rateLimit: boolean;
  hang: boolean;
}

export function drawTick(requests: number, rates: FaultRates, random: () => number): TickFaults {
  const out: TickFaults = { failNext: 0, rateLimit: false, hang: false };
  for (let i = 0; i < requests; i++) {
    if (random() < rates.errorRate) out.failNext += 1;
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
const HANG_PULSE_MAX_MS = 1_000;
const HUBSPOT_WINDOW_MS = 10_000;

export interface HubSpotFaultDriverOptions {
  setFaults(faults: Partial<HubSpotFaults>): Promise<void>;
  /** API requests the simulator has received so far. */
  requests(): Promise<number>;
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
    const { setFaults, requests } = this.options;
    const random = this.options.random ?? Math.random;
    let seen = await requests().catch(() => 0);
    let next429At = 0;
    while (!this.stopped) {
      await sleep(TICK_MS);
      try {
        const now = await requests();
        const tick = drawTick(now - seen, rates, random);
        seen = now;
        if (tick.failNext > 0) await setFaults({ failNext: tick.failNext });
        if (tick.rateLimit && Date.now() >= next429At) {
          await setFaults({ rateLimitNext: 1 });
          next429At = Date.now() + HUBSPOT_WINDOW_MS;
        }
        if (tick.hang) seen = await this.hang(latencyMs);
      } catch (err) {
        this.options.onError(err);
      }
    }
  }

  /** Holds requests past the timeout until one arrived (or a second passed); the simulator's request count after. */
  private async hang(latencyMs: number): Promise<number> {
    const { setFaults, requests, hangMs } = this.options;
    const before = await requests();
    await setFaults({ latencyMs: hangMs });
    let now = before;
    const until = Date.now() + HANG_PULSE_MAX_MS;
    while (now === before && Date.now() < until) {
      await sleep(25);
      now = await requests();
    }
    await setFaults({ latencyMs });
    const after = await requests();
    this.hung += after - before;
    return after;
  }
}
