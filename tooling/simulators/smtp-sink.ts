import Fastify from 'fastify';
import { closeSmtp, createSmtpServer, listenSmtp } from './smtp-protocol.js';
import { registerSinkRoutes } from './smtp-routes.js';
import { createSinkState, sinkControls } from './smtp-state.js';
import type { SinkMessage, SmtpFaults, SmtpSinkStats } from './smtp-state.js';
import { listeningPort, urlHost } from './sim-common.js';
import type { SinkEventsOptions } from './smtp-events.js';

/**
 * A local SMTP server that accepts every message, records it for inspection
 * over HTTP, and can be told to fail temporarily, drop connections, be slow or
 * reject recipients.
 */

export type { SinkMessage, SmtpFaults, SmtpSinkStats } from './smtp-state.js';
export type { SinkEventsOptions } from './smtp-events.js';

export interface SmtpSinkOptions {
  host?: string;
  /** 0 picks a free port. */
  smtpPort?: number;
  /** 0 picks a free port. */
  httpPort?: number;
  logger?: boolean;
  faults?: Partial<SmtpFaults>;
  /** Signed bounce and complaint events for configured addresses (smtp-events.ts). */
  events?: SinkEventsOptions;
}

export interface SmtpSink {
  smtpPort: number;
  httpUrl: string;
  messages(): SinkMessage[];
  stats(): SmtpSinkStats;
  setFaults(patch: Partial<SmtpFaults>): SmtpFaults;
  clearFaults(): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const host = opts.host ?? '127.0.0.1';
  const state = createSinkState(opts.faults ?? {}, opts.events);
  const smtp = createSmtpServer(state);
  const http = Fastify({ logger: opts.logger ?? false, forceCloseConnections: true });
  registerSinkRoutes(http, state);

  const smtpPort = await listenSmtp(smtp, opts.smtpPort ?? 0, host);
  try {
    await http.listen({ host, port: opts.httpPort ?? 0 });
  } catch (error) {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    throw error;
  }
  const httpPort = listeningPort(http.server, opts.httpPort ?? 0);
  const { setFaults, clearFaults, reset } = sinkControls(state);

  return {
    smtpPort,
    httpUrl: `http://${urlHost(host)}:${httpPort}`,
    messages: () => [...state.messages],
    stats: () => ({ ...state.stats }),
    setFaults,
    clearFaults,
    reset,
    close: async () => {
      await Promise.all([closeSmtp(smtp), http.close()]);
      await Promise.all(state.events.pending);
    },
  };
}
