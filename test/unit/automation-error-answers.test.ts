import { describe, expect, it } from 'vitest';
import { HttpError, mapError } from '../../src/api/errors.js';
import {
  AutomationDisabledError,
  AutomationNotFoundError,
  AutomationServiceError,
  InvalidUnsubscribeLinkError,
  RunFinishedError,
  RunNotFoundError,
  RunNotRetryableError,
} from '../../src/automations/errors.js';

// The automation service throws errors without HTTP; these are the answers the API gave when
// they were HTTP errors, body and headers exactly.

const RUN = 'automation-abcdefghijklmnopqrst-welcome-abcdefghijkl';

describe('the HTTP answers to the automation service errors', () => {
  it.each([
    [new AutomationNotFoundError('welcome'), 404, 'automation_not_found', 'no automation with id welcome'],
    [new AutomationDisabledError('welcome'), 409, 'automation_disabled', 'automation welcome is disabled (enabled: false in its file)'],
    [new RunNotFoundError(RUN), 404, 'run_not_found', `no automation run with id ${RUN}`],
    [new RunFinishedError(RUN, 'completed'), 409, 'run_finished', `automation run ${RUN} has already finished (completed)`],
    [
      new RunNotRetryableError(RUN, 'running'),
      409,
      'run_not_retryable',
      `automation run ${RUN} is running; only failed, cancelled, terminated or timed-out runs are retried (cancel a stuck run first)`,
    ],
    [new InvalidUnsubscribeLinkError(), 400, 'invalid_unsubscribe_link', 'this unsubscribe link is not valid; use the link from the email'],
  ])('%s: %i %s', (error, status, code, message) => {
    expect(mapError(error)).toEqual({ status, headers: {}, body: { error: { code, message, issues: [] } } });
  });

  it('the errors carry facts, not HTTP', () => {
    const finished = new RunFinishedError(RUN, 'cancelled');
    expect(finished).toBeInstanceOf(AutomationServiceError);
    expect(finished).not.toBeInstanceOf(HttpError);
    expect(finished).toMatchObject({ name: 'RunFinishedError', runId: RUN, status: 'cancelled' });
  });
});
