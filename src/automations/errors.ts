// What the automation service refuses, as facts (which automation, which run, its status) and
// no HTTP: the API turns each into its answer in one place (mapError in src/api/errors.ts).

/** Base of the errors below, so the API tells them apart from failures nobody named. */
export abstract class AutomationServiceError extends Error {}

export class AutomationNotFoundError extends AutomationServiceError {
  override readonly name = 'AutomationNotFoundError';
  constructor(readonly automationId: string) {
    super(`no automation with id ${automationId}`);
  }
}

/** A manual start of an automation whose file says `enabled: false`. */
export class AutomationDisabledError extends AutomationServiceError {
  override readonly name = 'AutomationDisabledError';
  constructor(readonly automationId: string) {
    super(`automation ${automationId} is disabled`);
  }
}

export class RunNotFoundError extends AutomationServiceError {
  override readonly name = 'RunNotFoundError';
  constructor(readonly runId: string) {
    super(`no automation run with id ${runId}`);
  }
}

/** A cancellation of a run that is no longer running; `status` is the one it ended with. */
export class RunFinishedError extends AutomationServiceError {
  override readonly name = 'RunFinishedError';
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(`automation run ${runId} has already finished (${status})`);
  }
}

/** A retry of a run that did not end failed, cancelled, terminated or timed out; `status` is its own. */
export class RunNotRetryableError extends AutomationServiceError {
  override readonly name = 'RunNotRetryableError';
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(`automation run ${runId} is ${status} and cannot be retried`);
  }
}

/** An unsubscribe link whose token was not signed for this lead with this deployment's secret. */
export class InvalidUnsubscribeLinkError extends AutomationServiceError {
  override readonly name = 'InvalidUnsubscribeLinkError';
  constructor() {
    super('this unsubscribe link is not valid');
  }
}

/** Every error the automation service names; mapError gives each its HTTP answer. */
export type AutomationRefusal =
  | AutomationNotFoundError
  | AutomationDisabledError
  | RunNotFoundError
  | RunFinishedError
  | RunNotRetryableError
  | InvalidUnsubscribeLinkError;
