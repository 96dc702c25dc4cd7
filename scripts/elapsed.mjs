// @ts-check
// Progress wording shared by every long command (bench, chaos, the first `npm start`):
// "step 2/5: C2 raw client — elapsed 1m05s, about 2m10s left". Plain Node ESM with no
// dependencies, so the setup and build scripts can use it before anything is built.

/**
 * Seconds as a short duration: 45s, 1m05s, 1h02m.
 * @param {number} seconds
 * @returns {string}
 */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(Number.isFinite(seconds) ? seconds : 0));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * What is left of a plan: "about 2m10s left", or "over plan by 15s" once past it.
 * @param {number} elapsedS
 * @param {number} plannedS
 * @returns {string}
 */
export function remainingText(elapsedS, plannedS) {
  const left = plannedS - elapsedS;
  // Rounded as formatDuration rounds, so "about 0s left" never shows.
  if (Math.round(left) >= 1) return `about ${formatDuration(left)} left`;
  if (Math.round(-left) >= 1) return `over plan by ${formatDuration(-left)}`;
  return 'about done';
}

/**
 * "elapsed 1m05s, about 2m10s left"; without a plan, only the elapsed time.
 * @param {number} elapsedS
 * @param {number} [plannedS]
 * @returns {string}
 */
export function timeText(elapsedS, plannedS) {
  const elapsed = `elapsed ${formatDuration(elapsedS)}`;
  return plannedS === undefined ? elapsed : `${elapsed}, ${remainingText(elapsedS, plannedS)}`;
}

/**
 * One progress line: "step 2/5: C2 raw client — elapsed 1m05s, about 2m10s left". A step
 * past the planned count shows as "step 6" (the plan was short, the count still runs on).
 * @param {{ step?: number, steps?: number, what: string, elapsedS: number, plannedS?: number }} p
 * @returns {string}
 */
export function progressLine({ step, steps, what, elapsedS, plannedS }) {
  const prefix = step === undefined ? '' : steps !== undefined && step <= steps ? `step ${step}/${steps}: ` : `step ${step}: `;
  return `${prefix}${what} — ${timeText(elapsedS, plannedS)}`;
}

/**
 * Says "<what> … elapsed 20s" every `everyMs` (10 s) until stopped, for work that prints
 * nothing while it runs (pip, go install, tsc). `stop()` returns the seconds it ran.
 * @param {{ what: string, say: (line: string) => void, everyMs?: number, now?: () => number }} o
 * @returns {{ stop: () => number }}
 */
export function startTicker({ what, say, everyMs = 10_000, now = Date.now }) {
  const started = now();
  const timer = setInterval(() => say(`${what} … elapsed ${formatDuration((now() - started) / 1000)}`), everyMs);
  // The ticker alone never keeps the process alive.
  timer.unref?.();
  return {
    stop() {
      clearInterval(timer);
      return (now() - started) / 1000;
    },
  };
}

/**
 * @typedef {{ what: string, plannedS: number }} PlannedStep
 */

/**
 * A run made of planned steps. The planned total is the time the finished steps took plus
 * the plan of the current and the coming ones, so "left" shrinks when a step ends early
 * (a drain check that passes before its timeout) and grows only when a step overruns.
 */
export class StepPlan {
  /**
   * @param {readonly PlannedStep[]} steps
   * @param {number} [startedAt]
   */
  constructor(steps, startedAt = Date.now()) {
    /** @readonly */
    this.steps = steps;
    /** @readonly */
    this.startedAt = startedAt;
    /** Steps begun so far; the current one is `this.steps[this.current - 1]`. */
    this.current = 0;
    /** @type {number | undefined} */
    this.currentStartedAt = undefined;
  }

  /** Seconds the plan gives all the steps. */
  get totalPlannedS() {
    return this.steps.reduce((t, s) => t + s.plannedS, 0);
  }

  /**
   * The whole run's planned seconds at `now` (see the class comment).
   * @param {number} [now]
   * @returns {number}
   */
  plannedS(now = Date.now()) {
    const ahead = this.steps.slice(Math.max(0, this.current - 1)).reduce((t, s) => t + s.plannedS, 0);
    const before = this.currentStartedAt === undefined ? now : this.currentStartedAt;
    return (before - this.startedAt) / 1000 + ahead;
  }

  /**
   * Starts the next step and returns its line: "step 2/5: what — elapsed …, about … left".
   * @param {string} [what] defaults to the plan's name for the step
   * @param {number} [now]
   * @returns {string}
   */
  begin(what, now = Date.now()) {
    this.current += 1;
    this.currentStartedAt = now;
    const name = what ?? this.steps[this.current - 1]?.what ?? 'next step';
    return progressLine({ step: this.current, steps: this.steps.length, what: name, elapsedS: (now - this.startedAt) / 1000, plannedS: this.plannedS(now) });
  }

  /**
   * The whole run so far: "elapsed 1m05s, about 2m10s left".
   * @param {number} [now]
   * @returns {string}
   */
  status(now = Date.now()) {
    return timeText((now - this.startedAt) / 1000, this.plannedS(now));
  }
}
