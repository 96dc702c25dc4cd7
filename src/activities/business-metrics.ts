import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

// Business counters on the SDK's metric meter: they leave through the worker's Prometheus
// endpoint (WORKER_METRICS_PORT) next to the SDK's own, tagged with activity type and task queue.

const COUNTERS = {
  leads_crm_synced: 'Lead versions written to the CRM',
  crm_retries: 'CRM write attempts after the first (retries)',
  crm_rate_limited: 'CRM answers 429 (rate limited)',
  emails_sent: 'Emails accepted by the SMTP server',
  emails_failed: 'Email attempts the SMTP server refused or did not answer',
} as const;

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (unit tests): nothing to count on
  }
}

function count(name: keyof typeof COUNTERS): void {
  currentContext()?.metricMeter.createCounter(name, undefined, COUNTERS[name]).add(1);
}

/** Runs one CRM write, counting it synced, or rate limited when the CRM said 429, and counting retries. */
export async function countedCrmSync<T>(sync: () => Promise<T>): Promise<T> {
  if ((currentContext()?.info.attempt ?? 1) > 1) count('crm_retries');
  try {
    const result = await sync();
    count('leads_crm_synced');
    return result;
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === 'CrmRateLimited') count('crm_rate_limited');
    throw err;
  }
}

/** Runs one email send, counting it sent or failed. */
export async function countedEmail<T>(send: () => Promise<T>): Promise<T> {
  try {
    const result = await send();
    count('emails_sent');
    return result;
  } catch (err) {
    count('emails_failed');
    throw err;
  }
}
