import { Agent, request } from 'node:http';
import { parseBody, type Transport, type TransportOutcome } from '../../src/client/transport.js';

/**
 * A minimal JSON-over-HTTP client on node:http, so the load generator sees exactly what
 * happened to a request: a status, or the socket error (ECONNRESET, ECONNREFUSED, a
 * timeout) that a process being stopped or killed causes. It is the API client's
 * transport here (httpTransport), and reads the simulators' inspection endpoints.
 */

export interface HttpCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs: number;
  agent?: Agent;
}

export function keepAliveAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

/** The API client's transport: each request on `agent`, its outcome as node:http saw it. */
export function httpTransport(agent: Agent): Transport {
  return (call) => httpJson({ ...call, agent });
}

export function httpJson(call: HttpCall): Promise<TransportOutcome> {
  return new Promise((resolve) => {
    const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
    const headers: Record<string, string | number> = { accept: 'application/json', ...call.headers };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    let settled = false;
    const settle = (outcome: TransportOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = request(call.url, { method: call.method, headers, agent: call.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (err: NodeJS.ErrnoException) => settle({ kind: 'error', code: err.code ?? 'EBODY', message: err.message }));
      res.on('end', () => {
        if (!res.complete) {
          settle({ kind: 'error', code: 'EINCOMPLETE', message: 'response ended early' });
          return;
        }
        const body = parseBody(Buffer.concat(chunks).toString('utf8'));
        settle({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`no answer within ${call.timeoutMs} ms`), { code: 'ETIMEOUT' }));
    }, call.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => settle({ kind: 'error', code: err.code ?? 'EUNKNOWN', message: err.message }));
    req.end(payload);
  });
}

/** GET that must succeed (inspection endpoints of the simulators). */
export async function getJson<T>(url: string, timeoutMs = 30_000): Promise<T> {
  const outcome = await httpJson({ method: 'GET', url, timeoutMs });
  if (outcome.kind === 'error') throw new Error(`GET ${url}: ${outcome.code} ${outcome.message}`);
  if (outcome.status !== 200) throw new Error(`GET ${url}: HTTP ${outcome.status}`);
  return outcome.body as T;
}

export async function sendJson(method: 'POST' | 'DELETE', url: string, body?: unknown, timeoutMs = 10_000): Promise<unknown> {
  const outcome = await httpJson({ method, url, body, timeoutMs });
  if (outcome.kind === 'error') throw new Error(`${method} ${url}: ${outcome.code} ${outcome.message}`);
  if (outcome.status >= 300) throw new Error(`${method} ${url}: HTTP ${outcome.status} ${JSON.stringify(outcome.body)}`);
  return outcome.body;
}
