import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { PayloadDecryptionError } from '../../temporal/payload-codec.js';
import { PayloadNotDecryptableError } from '../errors.js';

// The remote codec the Temporal Web UI (and `temporal` CLI users) call to show encrypted
// payloads in clear text to an operator: POST <endpoint>/decode and <endpoint>/encode with
// the proto3 JSON of Payloads, bytes in base64: {"payloads": [{"metadata": {"encoding":
// "<base64>"}, "data": "<base64>"}]}. Served on the ops listener only (buildOpsApp), and
// it needs a key with the admin scope there (access-control.ts);
// the browser's CORS preflight is answered without a key, for the configured UI origins only.

const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*=*$/, { message: 'must be base64' });
const JsonPayload = z.object({ metadata: z.record(z.string(), Base64).optional(), data: Base64.optional() });
const JsonPayloads = z.object({ payloads: z.array(JsonPayload).max(1000) });
type JsonPayload = z.infer<typeof JsonPayload>;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export const CODEC_PATHS = ['/codec/decode', '/codec/encode'] as const;

// The UI sends a whole history page's payloads at once, far above the API's body limit for
// leads; Temporal's own limit on one payload is 2 MB.
const CODEC_BODY_LIMIT = 16 * 1024 * 1024;

export interface CodecRoutesOptions {
  codec?: PayloadCodec | undefined;
}

export const codecRoutes: FastifyPluginAsyncZod<CodecRoutesOptions> = async (app, options) => {
  const codec = options.codec;
  if (!codec) return;
  const schema = { hide: true, body: JsonPayloads } as const;
  const bodyLimit = CODEC_BODY_LIMIT;
  // Decoding shows every lead's data in clear text: an operator's key (admin scope) only.
  const config = { access: 'admin' } as const;

  app.post('/codec/decode', { schema, bodyLimit, config }, async (request) => {
    try {
      return { payloads: (await codec.decode(request.body.payloads.map(fromJson))).map(toJson) };
    } catch (err) {
      if (err instanceof PayloadDecryptionError) throw new PayloadNotDecryptableError(err.message);
      throw err;
    }
  });
  app.post('/codec/encode', { schema, bodyLimit, config }, async (request) => ({
    payloads: (await codec.encode(request.body.payloads.map(fromJson))).map(toJson),
  }));
  for (const path of CODEC_PATHS) app.options(path, { schema: { hide: true }, config: { access: 'public' } }, async (_request, reply) => reply.code(204).send());
};

/**
 * CORS for the codec endpoint: the Web UI runs in the operator's browser on its own origin.
 * Only the listed origins get the headers; the answer (errors included) carries them, so a
 * 401 reaches the UI as a 401 and not as an opaque network error.
 */
export function registerCodecCors(app: FastifyInstance, origins: readonly string[]): void {
  const allowed = new Set(origins.map((o) => o.trim().replace(/\/$/, '')).filter(Boolean));
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/codec/')) return;
    reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-credentials', 'true');
    reply.header('access-control-allow-methods', 'POST, OPTIONS');
    reply.header('access-control-allow-headers', 'Authorization, Content-Type, X-Namespace');
    reply.header('access-control-max-age', '600');
  });
}
