import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';

/** What both simulators share: their error shape, fault dice, and the /health, /_sim/faults and /_sim/reset controls. */

export function errorBody(message: string, issues: unknown[] = []) {
  return { error: { message, issues } };
}

export function zodIssues(error: z.ZodError) {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/** A header's first value; an empty one counts as absent. */
export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

export function chance(rate: number): boolean {
  return rate > 0 && Math.random() < rate;
}

/** The port a listening server got, which differs from the one asked for when that was 0. */
export function listeningPort(server: { address(): AddressInfo | string | null }, requested: number): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : requested;
}

/** A host clients can dial: a wildcard bind is reached through loopback, and IPv6 needs brackets in a URL. */
export function urlHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
}

export interface SimControls<F> {
  faultsPatchSchema: z.ZodType<Partial<F>>;
  faults(): F;
  setFaults(patch: Partial<F>): F;
  clearFaults(): void;
  reset(): void;
}

/** Controls over faults a simulator keeps in `holder.faults`; `reset` forgets what it holds besides. */
export function faultControls<F extends object>(holder: { faults: F }, schema: z.ZodType<Partial<F>>, none: F, reset: () => void): SimControls<F> {
  return {
    faultsPatchSchema: schema,
    faults: () => ({ ...holder.faults }),
    setFaults: (patch) => {
      holder.faults = { ...holder.faults, ...schema.parse(patch) };
      return { ...holder.faults };
    },
    clearFaults: () => {
      holder.faults = { ...none };
    },
    reset,
  };
}

export function registerControlRoutes<F>(app: FastifyInstance, controls: SimControls<F>): void {
  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/_sim/faults', async () => controls.faults());

  app.post('/_sim/faults', async (request, reply) => {
    const parsed = controls.faultsPatchSchema.safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send(errorBody('invalid faults', zodIssues(parsed.error)));
    return controls.setFaults(parsed.data);
  });

  app.delete('/_sim/faults', async () => {
    controls.clearFaults();
    return controls.faults();
  });

  app.post('/_sim/reset', async () => {
    controls.reset();
    return { ok: true };
  });
}
