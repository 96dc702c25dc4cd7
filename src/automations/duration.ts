// Durations in automation files: `2d`, `36h`, `1d12h`, `90m`, `30s`, `500ms`.
// Pure code: the automation workflow imports it.

const UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Milliseconds of a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match || match.slice(1).every((part) => part === undefined)) return undefined;
  const [, d, h, m, s, ms] = match;
  return (
    Number(d ?? 0) * UNITS.d! +
    Number(h ?? 0) * UNITS.h! +
    Number(m ?? 0) * UNITS.m! +
    Number(s ?? 0) * UNITS.s! +
    Number(ms ?? 0)
  );
}

/** The shortest readable form: 172800000 → `2d`, 5400000 → `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNITS[unit]!;
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}

/**
 * A definition's duration at the configured time scale (AUTOMATION_TIME_SCALE): `1` in
 * production; a demo runs `wait: 2d` in under three minutes at 0.001. Never below 1 ms.
 */
export function scaleDuration(ms: number, timeScale: number): number {
  return Math.max(1, Math.round(ms * timeScale));
}
