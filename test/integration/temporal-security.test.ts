import { NativeConnection } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { buildApiFromConfig } from '../../src/api/compose.js';
import { loadConfig } from '../../src/config.js';
import { temporalSecurity, waitForTemporal } from '../../src/temporal/connection.js';

// The Temporal security settings reach the connections the API and the worker make: an API
// key goes along on the dev server (which ignores it), and TLS, which the dev server does
// not speak, makes both fail to connect, so the setting is not silently dropped.

describe('Temporal connection settings', () => {
  const address = inject('temporalAddress');

  it('connect the API and the worker with an API key over plain gRPC', async () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: address, TEMPORAL_API_KEY: 'an-api-key', TEMPORAL_TLS: 'false' });
    const api = await buildApiFromConfig(config);
    try {
      expect((await api.ops.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    } finally {
      await api.close();
    }
    const security = temporalSecurity(config);
    await waitForTemporal(address, { timeoutMs: 5_000, security });
    const connection = await NativeConnection.connect({ address, ...security });
    await connection.close();
  });

  it('use TLS when asked, for the API and the worker alike', async () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: address, TEMPORAL_TLS: 'true' });
    const api = await buildApiFromConfig(config);
    try {
      expect((await api.ops.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    } finally {
      await api.close();
    }
    await expect(waitForTemporal(address, { timeoutMs: 1_500, security: temporalSecurity(config) })).rejects.toThrow(/did not become ready/);
  });
});
