// The fields of the API's answers this page reads (their schemas: src/api/schemas.ts and the
// routes'). Written out here rather than inferred because the browser build cannot import the
// server's zod schemas; test/e2e/console.test.ts runs the page against the real answers.

export interface QueueTypeStats {
  backlog: number;
  backlog_age_s: number;
  add_rate: number;
  dispatch_rate: number;
  pollers: number;
}

export interface Stats {
  task_queues: Record<string, { workflow: QueueTypeStats; activity: QueueTypeStats }>;
  leads: { retrying: number; failed: number };
  last_minute: { leads_accepted: number; leads_synced: number };
}

export interface Lead {
  id: string;
  email: string;
  stage: string;
  score: number;
  updated_at: string;
  crm: { status: string; last_error?: string | null };
}

/** Which activity is being retried and how often it has been tried. */
export interface Retrying {
  activity: string;
  attempt: number;
  last_failure?: string | null;
}

export interface FailedLead {
  lead: Lead;
  state: string;
  retrying?: Retrying | null;
}

export interface AutomationRun {
  run_id: string;
  automation_id: string;
  lead_id: string;
  status: string;
  started_at?: string | null;
  retrying?: Retrying | null;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export interface BulkRedrive {
  job_id: string;
  matched: number;
}
