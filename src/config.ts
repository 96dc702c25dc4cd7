import { availableParallelism } from 'node:os';
import { z } from 'zod';

// Environment variables arrive as strings; these helpers turn them into typed values
// and let zod name the variable when a value is wrong.
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

export const configSchema = z.object({
  // Temporal
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('leads'),
  TEMPORAL_CRM_TASK_QUEUE: z.string().min(1).default('leads-crm'),
  TEMPORAL_DB_FILE: z.string().min(1).default('.data/temporal.sqlite'),
  TEMPORAL_UI_PORT: int(8233, 0, 65535),
  TEMPORAL_START_DEV_SERVER: bool(true),

  // HTTP API
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(3000, 0, 65535),
  API_PROCESSES: int(Math.min(availableParallelism(), 4), 1, 64),
  API_KEYS: optionalString,
  BODY_LIMIT_BYTES: int(64 * 1024, 1024, 10 * 1024 * 1024),
  QUERY_TIMEOUT_MS: int(2000, 50, 60_000),
  WRITE_TIMEOUT_MS: int(5000, 100, 60_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  // Worker
  WORKER_PROCESSES: int(1, 1, 64),
  WORKER_MAX_CONCURRENT_ACTIVITIES: int(100, 1, 10_000),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: int(40, 2, 10_000),
  WORKER_MAX_CACHED_WORKFLOWS: int(2000, 0, 1_000_000),
  CONTINUE_AS_NEW_AFTER_EVENTS: int(2000, 100, 40_000),

  // CRM
  CRM_ADAPTER: z.enum(['rest']).default('rest'),
  CRM_BASE_URL: z.url().default('http://127.0.0.1:4010'),
  CRM_API_KEY: optionalString,
  CRM_TIMEOUT_MS: int(10_000, 100, 300_000),
  CRM_RATE_LIMIT_PER_SECOND: int(50, 0, 100_000),
  CRM_START_SIMULATOR: bool(true),

  // Email
  SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  SMTP_PORT: int(2525, 1, 65535),
  SMTP_SECURE: bool(false),
  SMTP_USER: optionalString,
  SMTP_PASSWORD: optionalString,
  SMTP_FROM: z.string().min(3).default('Sales Team <sales@example.com>'),
  SMTP_START_SINK: bool(true),
  SMTP_SINK_HTTP_PORT: int(8025, 0, 65535),
  MESSAGE_ID_DOMAIN: z.string().min(1).default('leads.example.com'),

  // Retries (per activity attempt counts and backoff)
  RETRY_MAX_ATTEMPTS: int(8, 1, 1000),
  RETRY_INITIAL_INTERVAL_MS: int(1000, 10, 3_600_000),
  RETRY_MAX_INTERVAL_MS: int(30_000, 10, 3_600_000),
  CRM_RESYNC_INTERVAL_MS: int(60_000, 100, 86_400_000),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the configuration; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}
