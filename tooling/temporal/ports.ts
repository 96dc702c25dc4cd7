import { createServer } from 'node:net';

const LOW_PORTS = { from: 20_000, to: 32_000 };

/**
 * Returns a TCP port that was free a moment ago on `host`. Picked at random below the
 * kernel's ephemeral range (32768+ on Linux), where ports handed out by `listen(0)` and to
 * outgoing connections live: a port taken from that range can be given to someone else
 * (the Temporal server's own internal listeners, say) before our process binds it.
 */
export async function getFreePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LOW_PORTS.from + Math.floor(Math.random() * (LOW_PORTS.to - LOW_PORTS.from));
    if (await canBind(host, port)) return port;
  }
  return bindAny(host);
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => res(false));
    srv.listen(port, host, () => srv.close(() => res(true)));
  });
}

function bindAny(host: string): Promise<number> {
  return new Promise<number>((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', rej);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close((err) => (err ? rej(err) : port ? res(port) : rej(new Error('could not determine a free port'))));
    });
  });
}

/** Rejects with a clear message if `port` cannot be bound on `host` (e.g. already in use). */
export async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  await new Promise<void>((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      rej(new Error(`cannot start the Temporal dev server: ${what} port ${hostPort(host, port)} is not available (${err.code ?? err.message})`));
    });
    srv.listen(port, host, () => srv.close(() => res()));
  });
}

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
