import { z } from 'zod';
import { faultControls, type SimControls } from './sim-common.js';
import { createSinkEvents, resetSinkEvents, type SinkEvents, type SinkEventsOptions } from './smtp-events.js';
import type { SinkMessage } from './smtp-message.js';

export type { SinkMessage } from './smtp-message.js';

/** What the SMTP sink has received, what it counted, and the switches that make it misbehave. */

const faultsSchema = z.strictObject({
  tempFailRate: z.number().min(0).max(1),
  failNext: z.int().min(0),
  dropRate: z.number().min(0).max(1),
  latencyMs: z.int().min(0),
  rejectRcptNext: z.int().min(0),
});

export type SmtpFaults = z.infer<typeof faultsSchema>;

const faultsPatchSchema = faultsSchema.partial();

const NO_FAULTS: SmtpFaults = { tempFailRate: 0, failNext: 0, dropRate: 0, latencyMs: 0, rejectRcptNext: 0 };

export interface SmtpSinkStats {
  accepted: number;
  /** Messages answered 451 plus recipients answered 550. */
  rejected: number;
  /** Connections closed at the end of DATA without a reply. */
  dropped: number;
  duplicateMessageIds: number;
}

export interface SinkState {
  messages: SinkMessage[];
  seenMessageIds: Set<string>;
  stats: SmtpSinkStats;
  nextId: number;
  faults: SmtpFaults;
  /** Bounce and complaint events the sink posts (smtp-events.ts). */
  events: SinkEvents;
}

function newStats(): SmtpSinkStats {
  return { accepted: 0, rejected: 0, dropped: 0, duplicateMessageIds: 0 };
}

export function createSinkState(faults: Partial<SmtpFaults>, events: SinkEventsOptions = {}): SinkState {
  return {
    events: createSinkEvents(events),
    messages: [],
    seenMessageIds: new Set(),
    stats: newStats(),
    nextId: 1,
    faults: { ...NO_FAULTS, ...faultsPatchSchema.parse(faults) },
  };
}

export function sinkControls(state: SinkState): SimControls<SmtpFaults> {
  return faultControls(state, faultsPatchSchema, NO_FAULTS, () => reset(state));
}

function reset(state: SinkState): void {
  state.messages = [];
  state.seenMessageIds = new Set();
  state.stats = newStats();
  state.nextId = 1;
  state.faults = { ...NO_FAULTS };
  resetSinkEvents(state.events);
}

/** Keeps the message; a Message-ID seen before means a sender delivered the same email twice. */
export function recordMessage(state: SinkState, message: SinkMessage): void {
  if (message.messageId !== '') {
    if (state.seenMessageIds.has(message.messageId)) state.stats.duplicateMessageIds += 1;
    state.seenMessageIds.add(message.messageId);
  }
  state.messages.push(message);
  state.stats.accepted += 1;
}
