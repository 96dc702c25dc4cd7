import { setTimeout as sleep } from 'node:timers/promises';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { parseMessage, readAll } from './smtp-capture.js';
import { recordMessage } from './smtp-state.js';
import { emitEvents } from './smtp-events.js';
import type { SinkState } from './smtp-state.js';
import { chance, listeningPort } from './sim-common.js';

/** The SMTP side of the sink: accepts every message unless a fault says otherwise. */

class SmtpReplyError extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function createSmtpServer(state: SinkState): SMTPServer {
  const server: SMTPServer = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    disableReverseLookup: true,
    banner: 'smtp-sink',
    size: 25 * 1024 * 1024,
    onRcptTo(_address, _session, callback) {
      callback(rejectRecipient(state));
    },
    onData(stream, session, callback) {
      receive(state, stream, session, () => dropConnection(server, session)).then(
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
  server.on('error', () => undefined);
  return server;
}

/** The 550 for this recipient when the rejectRcptNext fault is armed, otherwise nothing. */
function rejectRecipient(state: SinkState): SmtpReplyError | undefined {
  if (state.faults.rejectRcptNext <= 0) return undefined;
  state.faults.rejectRcptNext -= 1;
  state.stats.rejected += 1;
  return new SmtpReplyError(550, '5.1.1 Simulated permanent recipient rejection');
}

/** Resolves to the 250 text, rejects with the SMTP error, or never settles when the connection is dropped. */
async function receive(
  state: SinkState,
  stream: SMTPServerDataStream,
  session: SMTPServerSession,
  drop: () => void,
): Promise<string | undefined> {
  const raw = await readAll(stream);
  if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);

  if (state.faults.failNext > 0) {
    state.faults.failNext -= 1;
    state.stats.rejected += 1;
    throw new SmtpReplyError(451, '4.3.0 Simulated temporary failure (failNext), try again later');
  }
  if (chance(state.faults.dropRate)) {
    state.stats.dropped += 1;
    drop();
    return undefined;
  }
  if (chance(state.faults.tempFailRate)) {
    state.stats.rejected += 1;
    throw new SmtpReplyError(451, '4.3.0 Simulated temporary failure, try again later');
  }
  const message = await parseMessage(raw, session, state.nextId++);
  recordMessage(state, message);
  emitEvents(state.events, message);
  return `OK: queued as ${message.id}`;
}

// smtp-server has no API to abort a session, so the socket is reached through its connection list.
function dropConnection(server: SMTPServer, session: SMTPServerSession): void {
  for (const connection of server.connections) {
    if (connection.id === session.id) connection._socket.destroy();
  }
}

export function listenSmtp(server: SMTPServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.server.once('error', reject);
    server.server.listen(port, host, () => {
      server.server.off('error', reject);
      resolve(listeningPort(server.server, port));
    });
  });
}

export async function closeSmtp(server: SMTPServer): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Without this, close() waits for idle SMTP clients for up to 30 s.
  for (const connection of server.connections) connection._socket.destroy();
  await closed;
}
