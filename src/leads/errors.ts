// What the lead service refuses, as facts (which lead, which task, why) and no HTTP: the
// API turns each into its answer in one place (mapError in src/api/errors.ts).

/** Base of the errors below, so the API tells them apart from failures nobody named. */
export abstract class LeadServiceError extends Error {}

export class LeadNotFoundError extends LeadServiceError {
  override readonly name = 'LeadNotFoundError';
  constructor(readonly leadId: string) {
    super(`no lead with id ${leadId}`);
  }
}

export class TaskNotFoundError extends LeadServiceError {
  override readonly name = 'TaskNotFoundError';
  constructor(readonly taskId: string) {
    super(`no task with id ${taskId}`);
  }
}

/** One person, one lead: the email of a write is held by another lead, `holder`. */
export class EmailTakenError extends LeadServiceError {
  override readonly name = 'EmailTakenError';
  constructor(readonly holder: string) {
    super(`another lead (${holder}) has this email`);
  }
}

/** The lead was erased on request: nothing of it is left to read or write. */
export class LeadErasedError extends LeadServiceError {
  override readonly name = 'LeadErasedError';
  constructor(readonly leadId: string) {
    super(`lead ${leadId} was erased`);
  }
}

/** An idempotency key used before with a different request body. */
export class IdempotencyConflictError extends LeadServiceError {
  override readonly name = 'IdempotencyConflictError';
  constructor() {
    super('this Idempotency-Key was already used with a different request body');
  }
}

/** A re-drive of a lead whose CRM sync and welcome email have not failed (or are being retried now). */
export class NothingToRetryError extends LeadServiceError {
  override readonly name = 'NothingToRetryError';
  constructor(
    readonly leadId: string,
    readonly reason: string,
  ) {
    super(`lead ${leadId}: ${reason}`);
  }
}

/**
 * The server runs a bounded number of batch operations per namespace at once (1 on the dev
 * server): a state of the namespace the caller can wait out, not a failure.
 */
export class RedriveBusyError extends LeadServiceError {
  override readonly name = 'RedriveBusyError';
  constructor(readonly runningJobId: string) {
    super(`another batch operation (${runningJobId}) is running in this namespace`);
  }
}

export class RedriveJobNotFoundError extends LeadServiceError {
  override readonly name = 'RedriveJobNotFoundError';
  constructor(readonly jobId: string) {
    super(`no re-drive job with id ${jobId}`);
  }
}

/** Every error the lead service names; mapError gives each its HTTP answer. */
export type LeadRefusal =
  | LeadNotFoundError
  | TaskNotFoundError
  | EmailTakenError
  | LeadErasedError
  | IdempotencyConflictError
  | NothingToRetryError
  | RedriveBusyError
  | RedriveJobNotFoundError;
