import { it } from 'vitest';
import Fastify from 'fastify';
import { mapError } from '../../src/api/errors.js';
import { parseRetryAfter } from '../../src/activities/failures.js';
it('probe', async () => {
  for (const v of [null, undefined, 'boom', 42]) {
    try { console.log(String(v), JSON.stringify(mapError(v))); } catch (e) { console.log(String(v), 'THROWS', String(e)); }
  }
  const app = Fastify();
  app.setErrorHandler((err, _req, reply) => { const m = mapError(err); return reply.code(m.status).send(m.body); });
  app.get('/u', async () => { throw undefined; });
  app.get('/n', async () => { throw null; });
  console.log((await app.inject('/u')).statusCode, (await app.inject('/u')).body);
  console.log((await app.inject('/n')).statusCode, (await app.inject('/n')).body);
  for (const v of [' ', '0', '1.5', '0x10', '1e3', 'soon', '-5', 'Infinity', '12 seconds', new Date(Date.now() + 10000).toUTCString()]) console.log(JSON.stringify(v), parseRetryAfter(v));
});
