import { errorBody } from './errors.js';
import type { HubSpotState } from './state.js';

/**
 * HubSpot's limits per private app: requests per rolling window (100 per 10 seconds on
 * Free/Starter) and per day, both shown on every answer in `X-HubSpot-RateLimit-*` headers.
 * A request over either limit is answered 429 and does not count against them.
 */

export type LimitPolicy = 'TEN_SECONDLY_ROLLING' | 'DAILY';

/** Counts the request against both limits, or names the one it is over (then it is not counted). */
export function admitRequest(state: HubSpotState, now: number): { admitted: true } | { admitted: false; policy: LimitPolicy } {
  const day = new Date(now).toISOString().slice(0, 10);
  if (state.daily.day !== day) state.daily = { day, used: 0 };
  if (state.daily.used >= state.limits.daily) return { admitted: false, policy: 'DAILY' };
  if (state.window.count(now) >= state.limits.perWindow) return { admitted: false, policy: 'TEN_SECONDLY_ROLLING' };
  state.daily.used += 1;
  const inWindow = state.window.add(now);
  const inSecond = state.perSecond.add(now);
  state.counters.maxPerWindow = Math.max(state.counters.maxPerWindow, inWindow);
  state.counters.maxPerSecond = Math.max(state.counters.maxPerSecond, inSecond);
  return { admitted: true };
}

/** The headers HubSpot puts on every answer to an authenticated request, as they stand after it. */
export function rateLimitHeaders(state: HubSpotState, now: number): Record<string, string> {
  const { perWindow, windowMs, daily } = state.limits;
  return {
    'x-hubspot-ratelimit-max': String(perWindow),
    'x-hubspot-ratelimit-remaining': String(Math.max(0, perWindow - state.window.count(now))),
    'x-hubspot-ratelimit-interval-milliseconds': String(windowMs),
    'x-hubspot-ratelimit-daily': String(daily),
    'x-hubspot-ratelimit-daily-remaining': String(Math.max(0, daily - state.daily.used)),
  };
}

const POLICY_MESSAGES: Record<LimitPolicy, string> = {
  TEN_SECONDLY_ROLLING: 'You have reached your ten_secondly_rolling limit.',
  DAILY: 'You have reached your daily limit.',
};

/**
 * A 429's body in HubSpot's shape for rate limits (errorType, policyName). HubSpot's rate-limit
 * docs show no `category`, but the OpenAPI document's Error requires one: it carries
 * `RATE_LIMITS`, the category HubSpot's error docs give for 429s, so it satisfies both.
 */
export function rateLimitBody(policy: LimitPolicy) {
  return { ...errorBody('RATE_LIMITS', POLICY_MESSAGES[policy]), errorType: 'RATE_LIMIT', policyName: policy };
}
