import { describe, expect, it } from 'vitest';
import type { HubSpotFaults } from '../../tooling/simulators/hubspot/state.js';
import { baseLatencyMs, drawTick, HubSpotFaultDriver } from '../../tooling/chaos/hubspot-faults.js';
import { parseChaosArgs, UsageError } from '../../tooling/chaos/options.js';

// The REST run's fault rates turned into the HubSpot simulator's switches.

describe('HubSpot faults for the chaos suite', () => {
  it('draws a 500 per request, and a 429 or a hang per write, that arrived', () => {
    const always = () => 0;
    const never = () => 0.99;
    const rates = { errorRate: 0.2, rate429: 0.1, hangRate: 0.05 };
    expect(drawTick({ requests: 3, records: 12 }, rates, always)).toEqual({ failNext: 3, rateLimit: true, hang: true });
    expect(drawTick({ requests: 3, records: 12 }, rates, never)).toEqual({ failNext: 0, rateLimit: false, hang: false });
    expect(drawTick({ requests: 0, records: 0 }, rates, always)).toEqual({ failNext: 0, rateLimit: false, hang: false });
  });

  it('takes the middle of the REST latency range, HubSpot\'s switch having no jitter', () => {
    expect(baseLatencyMs({ latencyMs: 30, latencyJitterMs: 100 })).toBe(80);
    expect(baseLatencyMs({})).toBe(0);
  });

  it('sets failNext, one 429 in 30 s and a hang past the timeout, then the base latency again', async () => {
    const set: Partial<HubSpotFaults>[] = [];
    let requests = 0;
    let records = 0;
    const driver = new HubSpotFaultDriver({
      setFaults: async (faults) => {
        set.push(faults);
        // A request arrives while the hang holds them.
        if (faults.latencyMs === 2_000) requests += 1;
      },
      arrivals: async () => ({ requests: (requests += 2), records: (records += 10) }),
      hangMs: 2_000,
      onError: (err) => {
        throw err;
      },
      random: () => 0,
    });
    await driver.start({ latencyMs: 30, latencyJitterMs: 100, errorRate: 0.2, rate429: 0.1, hangRate: 0.05 });
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    await driver.stop();
    expect(set[0]).toEqual({ latencyMs: 80 });
    // The first request fails whatever the dice say, so a run of few batches still meets a 500.
    expect(set[1]).toEqual({ failNext: 1 });
    expect(set.filter((f) => f.rateLimitNext !== undefined)).toEqual([{ rateLimitNext: 1 }]);
    expect(set.some((f) => (f.failNext ?? 0) > 0)).toBe(true);
    const hang = set.findIndex((f) => f.latencyMs === 2_000);
    expect(set[hang + 1]).toEqual({ latencyMs: 80 });
    expect(driver.hung).toBeGreaterThan(0);
  });

  it('fails the first request even when the dice never come up, and only with a 500 rate', async () => {
    const runWith = async (errorRate: number) => {
      const set: Partial<HubSpotFaults>[] = [];
      const driver = new HubSpotFaultDriver({
        setFaults: async (faults) => {
          set.push(faults);
        },
        arrivals: async () => ({ requests: 0, records: 0 }),
        hangMs: 2_000,
        onError: (err) => {
          throw err;
        },
        random: () => 0.99,
      });
      await driver.start({ errorRate, rate429: 0.1 });
      await driver.stop();
      return set.filter((f) => f.failNext !== undefined);
    };
    expect(await runWith(0.2)).toEqual([{ failNext: 1 }]);
    expect(await runWith(0)).toEqual([]);
  });

  it('parses --crm and --hubspot-per-10s', () => {
    expect(parseChaosArgs(['--profile', 'ci'])).toMatchObject({ crm: 'rest', hubspotPer10s: 1_000 });
    expect(parseChaosArgs(['--crm', 'hubspot', '--hubspot-per-10s', '100'])).toMatchObject({ crm: 'hubspot', hubspotPer10s: 100 });
    expect(() => parseChaosArgs(['--crm', 'salesforce'])).toThrow(UsageError);
  });
});
