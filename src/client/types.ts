import type { z } from 'zod';
import type { PageQuery, Run as RunSchema } from '../api/routes/automations.js';
import type { BatchAccepted as BatchAcceptedSchema } from '../api/routes/lead-batch.js';
import type {
  BulkAccepted as BulkAcceptedSchema,
  BulkBody,
  FailedLead as FailedLeadSchema,
  FailedQuery,
  RedriveJob as RedriveJobSchema,
  RetryAccepted as RetryAcceptedSchema,
} from '../api/routes/lead-redrive.js';
import type {
  ConsentAccepted as ConsentAcceptedSchema,
  CreateAccepted as CreateAcceptedSchema,
  ErasureAccepted as ErasureAcceptedSchema,
  LeadExport as LeadExportSchema,
  HistoryResponse,
  LeadList as LeadListSchema,
  LeadResponse,
  ListQuery,
  TaskResponse,
  WriteAccepted as WriteAcceptedSchema,
} from '../api/schemas.js';
import type { LeadInput as LeadInputSchema, LeadPatch as LeadPatchSchema } from '../domain/lead.js';
import type { StatsResponse } from '../leads/stats.js';

// The client's types come from the zod schemas the API validates and answers with, so a
// schema change is a compile error here. Type imports only: nothing of the API (Fastify,
// Temporal) is loaded at run time.

/** A lead as sent (before the API normalizes it). */
export type LeadInput = z.input<typeof LeadInputSchema>;
export type LeadPatch = z.input<typeof LeadPatchSchema>;

export type Lead = z.infer<typeof LeadResponse>;
export type LeadPage = z.infer<typeof LeadListSchema>;
export type LeadListItem = LeadPage['items'][number];
export type ListLeadsQuery = Omit<z.input<typeof ListQuery>, 'limit'> & { limit?: number };
export type LeadHistory = z.infer<typeof HistoryResponse>;
export type CreateAccepted = z.infer<typeof CreateAcceptedSchema>;
export type WriteAccepted = z.infer<typeof WriteAcceptedSchema>;
export type ErasureAccepted = z.infer<typeof ErasureAcceptedSchema>;
export type ConsentAccepted = z.infer<typeof ConsentAcceptedSchema>;
export type LeadExport = z.infer<typeof LeadExportSchema>;

export type Task = z.infer<typeof TaskResponse>;

export type Stats = z.infer<typeof StatsResponse>;

export type Run = z.infer<typeof RunSchema>;
export type PageOptions = Omit<z.input<typeof PageQuery>, 'limit'> & { limit?: number };

// These shapes are declared inline in the automation routes (no exported schema).

export interface Automation {
  id: string;
  name: string;
  enabled: boolean;
  definition_hash: string;
  [field: string]: unknown;
}

export interface RunStarted {
  run_id: string;
  automation_id: string;
  lead_id: string;
  definition_hash: string;
  status: 'started';
  deduplicated: boolean;
}

export interface RunCancelling {
  run_id: string;
  status: 'cancelling';
}

export interface RunPage {
  items: Array<{ run_id: string; status: string; [field: string]: unknown }>;
  next_cursor: string | null;
}

/** POST /api/leads/batch: one item per lead sent, in order: its receipt, or why it was refused. */
export type BatchAccepted = z.infer<typeof BatchAcceptedSchema>;
export type BatchItem = BatchAccepted['items'][number];

/** Failed work and re-driving it (#10 item 3). */
export type FailedLead = z.infer<typeof FailedLeadSchema>;
export type FailedLeadPage = { items: FailedLead[]; next_cursor: string | null };
export type FailedLeadsQuery = Omit<z.input<typeof FailedQuery>, 'limit'> & { limit?: number };
export type LeadRetryAccepted = z.infer<typeof RetryAcceptedSchema>;
export type RedriveFilter = NonNullable<z.input<typeof BulkBody>['filter']>;
export type RedriveAccepted = z.infer<typeof BulkAcceptedSchema>;
export type RedriveJob = z.infer<typeof RedriveJobSchema>;

export interface ProblemRunPage {
  items: Array<{ run_id: string; status: string; retrying: { activity: string; attempt: number; last_failure: string | null } | null; [field: string]: unknown }>;
  next_cursor: string | null;
}

export interface RunRetried {
  run_id: string;
  retry_of: string;
  status: 'started';
  deduplicated: boolean;
}
