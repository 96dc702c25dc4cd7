import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { z } from 'zod';

/**
 * A local SMTP server that accepts every message, records it for inspection
 * over HTTP, and can be told to fail temporarily, drop connections, be slow or
 * reject recipients.
 */

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

export interface SinkMessage {
  id: number;
  /** Message-ID header without angle brackets; empty when the message had none. */
  messageId: string;
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO), so Bcc recipients are included. */
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Raw header values keyed by lower-case name; repeated headers are joined with ", ". */
  headers: Record<string, string>;
  receivedAt: string;
  size: number;
}

export interface SmtpSinkStats {
  accepted: number;
  /** Messages answered 451 plus recipients answered 550. */
  rejected: number;
  /** Connections closed at the end of DATA without a reply. */
  dropped: number;
  duplicateMessageIds: number;
}

export interface SmtpSinkOptions {
  host?: string;
  /** 0 picks a free port. */
  smtpPort?: number;
  /** 0 picks a free port. */
  httpPort?: number;
  logger?: boolean;
  faults?: Partial<SmtpFaults>;
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

class SmtpReplyError extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

function newStats(): SmtpSinkStats {
  return { accepted: 0, rejected: 0, dropped: 0, duplicateMessageIds: 0 };
}

function errorBody(message: string, issues: unknown[] = []) {
  return { error: { message, issues } };
}

function stripBrackets(messageId: string): string {
  return messageId.trim().replace(/^<|>$/g, '');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function headerRecord(headerLines: ReadonlyArray<{ key: string; line: string }>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, line } of headerLines) {
    const value = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    const previous = headers[key];
    headers[key] = previous === undefined ? value : `${previous}, ${value}`;
  }
  return headers;
}

async function parseMessage(raw: Buffer, session: SMTPServerSession, id: number): Promise<SinkMessage> {
  const parsed = await simpleParser(raw, { skipHtmlToText: true, skipTextLinks: true, skipImageLinks: true });
  const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  return {
    id,
    messageId: stripBrackets(parsed.messageId ?? ''),
    from: envelopeFrom || parsed.from?.value[0]?.address || '',
    to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    html: parsed.html || '',
    headers: headerRecord(parsed.headerLines),
    receivedAt: new Date().toISOString(),
    size: raw.length,
  };
}

function listen(server: SMTPServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.server.once('error', reject);
    server.server.listen(port, host, () => {
      server.server.off('error', reject);
      const address = server.server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const host = opts.host ?? '127.0.0.1';
  let messages: SinkMessage[] = [];
  let seenMessageIds = new Set<string>();
  let stats = newStats();
  let nextId = 1;
  let faults: SmtpFaults = { ...NO_FAULTS, ...faultsPatchSchema.parse(opts.faults ?? {}) };

  function setFaults(patch: Partial<SmtpFaults>): SmtpFaults {
    faults = { ...faults, ...faultsPatchSchema.parse(patch) };
    return { ...faults };
  }

  function clearFaults(): void {
    faults = { ...NO_FAULTS };
  }

  function reset(): void {
    messages = [];
    seenMessageIds = new Set();
    stats = newStats();
    nextId = 1;
    clearFaults();
  }

  function chance(rate: number): boolean {
    return rate > 0 && Math.random() < rate;
  }

  // smtp-server has no API to abort a session, so the socket is reached through its connection list.
  function dropConnection(session: SMTPServerSession): void {
    for (const connection of smtp.connections) {
      if (connection.id === session.id) connection._socket.destroy();
    }
  }

  function record(message: SinkMessage): void {
    if (message.messageId !== '') {
      if (seenMessageIds.has(message.messageId)) stats.duplicateMessageIds += 1;
      seenMessageIds.add(message.messageId);
    }
    messages.push(message);
    stats.accepted += 1;
  }

  /** Resolves to the 250 text, rejects with the SMTP error, or never settles when the connection is dropped. */
  async function receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string | undefined> {
    const raw = await readAll(stream);
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);

    if (faults.failNext > 0) {
      faults.failNext -= 1;
      stats.rejected += 1;
      throw new SmtpReplyError(451, '4.3.0 Simulated temporary failure (failNext), try again later');
    }
    if (chance(faults.dropRate)) {
      stats.dropped += 1;
      dropConnection(session);
      return undefined;
    }
    if (chance(faults.tempFailRate)) {
      stats.rejected += 1;
      throw new SmtpReplyError(451, '4.3.0 Simulated temporary failure, try again later');
    }
    const message = await parseMessage(raw, session, nextId++);
    record(message);
    return `OK: queued as ${message.id}`;
  }

  const smtp = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    disableReverseLookup: true,
    banner: 'smtp-sink',
    size: 25 * 1024 * 1024,
    onRcptTo(_address, _session, callback) {
      if (faults.rejectRcptNext > 0) {
        faults.rejectRcptNext -= 1;
        stats.rejected += 1;
        callback(new SmtpReplyError(550, '5.1.1 Simulated permanent recipient rejection'));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      receive(stream, session).then(
        (reply) => {
          if (reply !== undefined) callback(null, reply);
        },
        (error: unknown) => {
          callback(error instanceof SmtpReplyError ? error : new SmtpReplyError(451, `4.3.0 ${String(error)}`));
        },
      );
    },
  });
  // Client disconnects (including the ones we cause) surface here; they are expected.
  smtp.on('error', () => undefined);

  const http = Fastify({ logger: opts.logger ?? false, forceCloseConnections: true });

  http.get<{ Querystring: { to?: string; message_id?: string } }>('/messages', async (request) => {
    const to = request.query.to?.toLowerCase();
    const messageId = request.query.message_id === undefined ? undefined : stripBrackets(request.query.message_id);
    const matching = messages.filter(
      (m) =>
        (to === undefined || m.to.some((addr) => addr.toLowerCase() === to)) &&
        (messageId === undefined || m.messageId === messageId),
    );
    return { messages: matching };
  });

  http.get<{ Params: { id: string } }>('/messages/:id', async (request, reply) => {
    const message = messages.find((m) => String(m.id) === request.params.id);
    if (!message) return reply.code(404).send(errorBody(`message ${request.params.id} not found`));
    return message;
  });

  http.delete('/messages', async () => {
    messages = [];
    return { ok: true };
  });

  http.get('/health', async () => ({ status: 'ok' }));

  http.get('/_sim/stats', async () => ({ ...stats }));

  http.get('/_sim/faults', async () => ({ ...faults }));

  http.post('/_sim/faults', async (request, reply) => {
    const parsed = faultsPatchSchema.safeParse(request.body ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
      return reply.code(400).send(errorBody('invalid faults', issues));
    }
    return setFaults(parsed.data);
  });

  http.delete('/_sim/faults', async () => {
    clearFaults();
    return { ...faults };
  });

  http.post('/_sim/reset', async () => {
    reset();
    return { ok: true };
  });

  const smtpPort = await listen(smtp, opts.smtpPort ?? 0, host);
  try {
    await http.listen({ host, port: opts.httpPort ?? 0 });
  } catch (error) {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    throw error;
  }
  const address = http.server.address();
  const httpPort = typeof address === 'object' && address !== null ? address.port : (opts.httpPort ?? 0);
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  return {
    smtpPort,
    httpUrl: `http://${urlHost}:${httpPort}`,
    messages: () => [...messages],
    stats: () => ({ ...stats }),
    setFaults,
    clearFaults,
    reset,
    async close() {
      const closed = new Promise<void>((resolve) => smtp.close(() => resolve()));
      // Without this, close() waits for idle SMTP clients for up to 30 s.
      for (const connection of smtp.connections) connection._socket.destroy();
      await Promise.all([closed, http.close()]);
    },
  };
}
