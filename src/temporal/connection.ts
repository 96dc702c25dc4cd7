import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { temporalTlsEnabled, type Config } from '../config.js';

/** What both a client Connection and the worker's NativeConnection need besides the address. */
export interface TemporalSecurity {
  /** false: plain gRPC even with an API key (the SDK would turn TLS on for one). */
  tls?: TLSConfig | false;
  apiKey?: string;
}

/**
 * TLS / mTLS / API key from the configuration, the same for the API and the workers. The
 * files are read once, at start: a certificate rotated on disk takes a restart.
 */
export function temporalSecurity(config: Config): TemporalSecurity {
  const out: TemporalSecurity = {};
  if (config.TEMPORAL_API_KEY !== undefined) out.apiKey = config.TEMPORAL_API_KEY;
  if (!temporalTlsEnabled(config)) {
    if (out.apiKey !== undefined) out.tls = false;
    return out;
  }
  const tls: TLSConfig = {};
  if (config.TEMPORAL_TLS_SERVER_NAME !== undefined) tls.serverNameOverride = config.TEMPORAL_TLS_SERVER_NAME;
  if (config.TEMPORAL_TLS_CA !== undefined) tls.serverRootCACertificate = readFileSync(config.TEMPORAL_TLS_CA);
  if (config.TEMPORAL_TLS_CERT !== undefined && config.TEMPORAL_TLS_KEY !== undefined) {
    tls.clientCertPair = { crt: readFileSync(config.TEMPORAL_TLS_CERT), key: readFileSync(config.TEMPORAL_TLS_KEY) };
  }
  out.tls = tls;
  return out;
}

/** Options of a client Connection to the configured Temporal. */
export function temporalConnectionOptions(config: Config): ConnectionOptions {
  return { address: config.TEMPORAL_ADDRESS, ...temporalSecurity(config) };
}

// Waiting for a Temporal frontend to answer, for the worker's start-up and the dev tooling.

function splitAddress(address: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.trim());
  return m?.[1] && m[2] ? { host: m[1], port: Number(m[2]) } : undefined;
}

/** Cheap TCP check, so polling is not slowed down by gRPC reconnect backoff. */
function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = netConnect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      res(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Tries once to reach the frontend; returns an open connection or throws. */
async function probe(address: string, timeoutMs: number, security: TemporalSecurity): Promise<Connection> {
  const target = splitAddress(address);
  if (target && !(await tcpReachable(target.host, target.port, timeoutMs))) {
    throw new Error(`nothing is listening on ${address} yet`);
  }
  const connection = await Connection.connect({ address, ...security, connectTimeout: Math.max(250, timeoutMs) });
  try {
    await connection.withDeadline(Date.now() + Math.max(250, timeoutMs), () =>
      connection.workflowService.getSystemInfo({}),
    );
    return connection;
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw err;
  }
}

export async function connectWhenReady(
  address: string,
  timeoutMs: number,
  abort?: () => Error | undefined,
  security: TemporalSecurity = {},
): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const aborted = abort?.();
    if (aborted) throw aborted;
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    try {
      return await probe(address, Math.min(2_000, remaining), security);
    } catch (err) {
      lastError = err;
    }
    const aborted2 = abort?.();
    if (aborted2) throw aborted2;
    await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`Temporal at ${address} did not become ready within ${timeoutMs} ms (last error: ${reason})`);
}

/**
 * Resolves once the Temporal frontend at `address` answers GetSystemInfo;
 * polls every 200 ms. Rejects after `timeoutMs` (default 30 s).
 */
export async function waitForTemporal(
  address: string,
  opts: { timeoutMs?: number; security?: TemporalSecurity } = {},
): Promise<void> {
  const connection = await connectWhenReady(address, opts.timeoutMs ?? 30_000, undefined, opts.security);
  await connection.close();
}

