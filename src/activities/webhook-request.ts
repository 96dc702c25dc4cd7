import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { checkedLookup, isAllowedHost, refusedBy, resolveHost, WebhookRefusedError, type ResolveHost } from './webhook-target.js';

// One webhook POST, through node:http rather than fetch: its socket takes our `lookup`, so
// the address checked is the address connected to (fetch offers no such hook without the
// undici package). Redirects are never followed (the caller treats a 3xx as final), and at
// most MAX_ANSWER_BYTES of the answer are read: nothing of it is kept, it is drained only so
// the connection can be reused, and a receiver that sends more gets its socket closed.

export const MAX_ANSWER_BYTES = 64 * 1024;

// Kept-alive sockets are pooled by host and port, not by how they were looked up: sockets
// opened for allowed hosts (unchecked) are never handed to a request that must be checked.
const AGENTS = {
  checked: { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) },
  allowed: { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) },
};

export interface WebhookRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  allowedHosts: readonly string[];
  resolve?: ResolveHost;
  maxAnswerBytes?: number;
}

export interface WebhookAnswer {
  status: number;
  retryAfter: string | null;
  /** Bytes of the answer read; the rest, if any, was not. */
  answerBytes: number;
  cut: boolean;
}

export async function sendWebhookRequest(req: WebhookRequest): Promise<WebhookAnswer> {
  const allowed = isAllowedHost(req.url, req.allowedHosts);
  // An address written in the URL is connected to without a lookup: checked here instead.
  const literal = req.url.hostname.replace(/^\[|\]$/g, '');
  if (!allowed && isIP(literal) !== 0) {
    const rule = refusedBy(literal);
    if (rule) throw new WebhookRefusedError(literal, literal, rule);
  }
  const https = req.url.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  const agents = allowed ? AGENTS.allowed : AGENTS.checked;
  const limit = req.maxAnswerBytes ?? MAX_ANSWER_BYTES;
  return new Promise<WebhookAnswer>((resolve, reject) => {
    const outgoing = send(req.url, {
      method: 'POST',
      headers: { ...req.headers, 'content-length': Buffer.byteLength(req.body) },
      agent: https ? agents.https : agents.http,
      lookup: checkedLookup(req.resolve ?? resolveHost, allowed),
      signal: req.signal,
    });
    outgoing.on('error', reject);
    outgoing.on('response', (answer: IncomingMessage) => {
      let answerBytes = 0;
      const done = (cut: boolean) =>
        resolve({ status: answer.statusCode ?? 0, retryAfter: headerValue(answer.headers['retry-after']), answerBytes, cut });
      answer.on('data', (chunk: Buffer) => {
        answerBytes += chunk.length;
        if (answerBytes > limit) {
          answerBytes = limit;
          answer.destroy();
          done(true);
        }
      });
      answer.on('end', () => done(false));
      answer.on('error', () => done(true));
    });
    outgoing.end(req.body);
  });
}

function headerValue(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null;
}
