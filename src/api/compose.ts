import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';
import type { LeadWorkflowSettings } from '../workflows/lead-workflow.js';
import { buildApp } from './app.js';
import { LeadService } from './lead-service.js';

export function workflowSettingsFromConfig(config: Config): LeadWorkflowSettings {
  return {
    crmTaskQueue: config.TEMPORAL_CRM_TASK_QUEUE,
    maxAttempts: config.RETRY_MAX_ATTEMPTS,
    initialIntervalMs: config.RETRY_INITIAL_INTERVAL_MS,
    maxIntervalMs: config.RETRY_MAX_INTERVAL_MS,
    continueAsNewAfterEvents: config.CONTINUE_AS_NEW_AFTER_EVENTS,
    crmResyncIntervalMs: config.CRM_RESYNC_INTERVAL_MS,
  };
}

export function leadServiceFromConfig(config: Config, client: Client): LeadService {
  return new LeadService(client, {
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    settings: workflowSettingsFromConfig(config),
    queryTimeoutMs: config.QUERY_TIMEOUT_MS,
    writeTimeoutMs: config.WRITE_TIMEOUT_MS,
  });
}

/**
 * Builds the API from configuration. The connection is lazy so the API starts, and
 * answers /health and 503s, even while Temporal is still coming up.
 */
export async function buildApiFromConfig(
  config: Config,
  logger: FastifyServerOptions['logger'] = false,
): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const app = await buildApp({
    leads: leadServiceFromConfig(config, client),
    apiKeys: config.API_KEYS?.split(',').map((k) => k.trim()).filter(Boolean),
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    logger,
  });
  return {
    app,
    async close() {
      await app.close();
      await connection.close();
    },
  };
}

/** Pino options: structured logs with secrets and personal data redacted. */
export function loggerOptions(level: Config['LOG_LEVEL']): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.email', '*.phone', 'err.meta.email'],
      censor: '[redacted]',
    },
  };
}
