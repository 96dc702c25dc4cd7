import { z } from 'zod';
import { LeadStore } from './lead-store.js';

/** What the Salesforce simulator remembers between requests, and the switches that change how it answers. */

const faultsSchema = z.strictObject({
  /** Added to every API request (not the token call). */
  latencyMs: z.int().min(0),
  /** The next N API requests answer 503. */
  failNext: z.int().min(0),
  /** Every API request answers 503 until cleared. */
  down: z.boolean(),
  /** The next N records in upserts fail with UNABLE_TO_LOCK_ROW (the others land). */
  lockRowNext: z.int().min(0),
});
export type SalesforceFaults = z.infer<typeof faultsSchema>;
export const faultsPatchSchema = faultsSchema.partial();
export const NO_FAULTS: SalesforceFaults = { latencyMs: 0, failNext: 0, down: false, lockRowNext: 0 };

export interface SalesforceStats {
  /** API requests counted against the daily allowance (token calls are not). */
  requests: number;
  tokenRequests: number;
  /** Answers by HTTP status, token calls included. */
  byStatus: Record<string, number>;
  /** Records received in collection upserts. */
  records: number;
  created: number;
  updated: number;
  /** Per-record errors by statusCode. */
  recordErrors: Record<string, number>;
  deleted: number;
  callouts: number;
  calloutFailures: number;
}

export interface SalesforceState {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenTtlMs: number;
  readonly dailyApiLimit: number;
  /** API requests spent in the current (simulated) 24 hours. */
  apiUsed: number;
  /** Access token -> when it stops working (epoch ms). */
  readonly tokens: Map<string, number>;
  leads: LeadStore;
  nextId: number;
  faults: SalesforceFaults;
  stats: SalesforceStats;
}

export interface StateOptions {
  clientId: string;
  clientSecret: string;
  tokenTtlMs: number;
  dailyApiLimit: number;
  externalIdField: string;
  faults: Partial<SalesforceFaults>;
}

function newStats(): SalesforceStats {
  return { requests: 0, tokenRequests: 0, byStatus: {}, records: 0, created: 0, updated: 0, recordErrors: {}, deleted: 0, callouts: 0, calloutFailures: 0 };
}

export function createSalesforceState(opts: StateOptions): SalesforceState {
  return {
    clientId: opts.clientId,
    clientSecret: opts.clientSecret,
    tokenTtlMs: opts.tokenTtlMs,
    dailyApiLimit: opts.dailyApiLimit,
    apiUsed: 0,
    tokens: new Map(),
    leads: LeadStore.empty(opts.externalIdField),
    nextId: 1,
    faults: { ...NO_FAULTS, ...faultsPatchSchema.parse(opts.faults) },
    stats: newStats(),
  };
}

/** A Lead Id as Salesforce shapes them: 18 characters, prefix 00Q. */
export function newLeadId(state: SalesforceState): string {
  return `00Q${String(state.nextId++).padStart(15, '0')}`;
}

export function countRecordError(state: SalesforceState, code: string): void {
  state.stats.recordErrors[code] = (state.stats.recordErrors[code] ?? 0) + 1;
}

/** Forgets leads, tokens, spent allowance, counters and faults. */
export function resetSalesforceState(state: SalesforceState): void {
  state.tokens.clear();
  state.leads = LeadStore.empty(state.leads.externalIdField);
  state.nextId = 1;
  state.apiUsed = 0;
  state.faults = { ...NO_FAULTS };
  state.stats = newStats();
}
