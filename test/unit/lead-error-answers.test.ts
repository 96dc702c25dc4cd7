import { describe, expect, it } from 'vitest';
import { HttpError, mapError } from '../../src/api/errors.js';
import {
  EmailTakenError,
  LeadErasedError,
  LeadServiceError,
  NothingToRetryError,
  RedriveBusyError,
  RedriveJobNotFoundError,
} from '../../src/leads/errors.js';
import { InvalidCursorError } from '../../src/temporal/visibility.js';

// The lead service and the Temporal layer throw errors without HTTP; these are the answers
// the API gave when they were HTTP errors, body and headers exactly.

describe('the HTTP answers to the lead service errors', () => {
  it('email taken: 409 naming the holder, in an issue on body.email and as lead_id', () => {
    expect(mapError(new EmailTakenError('abcdefghijklmnopqrst'))).toEqual({
      status: 409,
      headers: {},
      body: {
        error: {
          code: 'email_taken',
          message: 'another lead (abcdefghijklmnopqrst) has this email; change that lead, or erase it first',
          issues: [{ path: 'body.email', code: 'email_taken', message: 'held by lead abcdefghijklmnopqrst' }],
          lead_id: 'abcdefghijklmnopqrst',
        },
      },
    });
  });

  it('erased: a 404 told apart from an unknown lead by its code', () => {
    expect(mapError(new LeadErasedError('abcdefghijklmnopqrst'))).toEqual({
      status: 404,
      headers: {},
      body: { error: { code: 'lead_erased', message: 'lead abcdefghijklmnopqrst was erased', issues: [] } },
    });
  });

  it('nothing to retry: 409 with the reason', () => {
    expect(mapError(new NothingToRetryError('abcdefghijklmnopqrst', 'the CRM sync has not failed'))).toEqual({
      status: 409,
      headers: {},
      body: { error: { code: 'nothing_to_retry', message: 'lead abcdefghijklmnopqrst: the CRM sync has not failed', issues: [] } },
    });
  });

  it('re-drive busy: 409 with retry-after 5', () => {
    expect(mapError(new RedriveBusyError('job-1'))).toEqual({
      status: 409,
      headers: { 'retry-after': '5' },
      body: {
        error: {
          code: 'redrive_busy',
          message: 'another batch operation (job-1) is running in this namespace; retry when it has finished',
          issues: [],
        },
      },
    });
  });

  it('unknown re-drive job: 404', () => {
    expect(mapError(new RedriveJobNotFoundError('job-2'))).toEqual({
      status: 404,
      headers: {},
      body: { error: { code: 'redrive_job_not_found', message: 'no re-drive job with id job-2', issues: [] } },
    });
  });

  it('a cursor not handed out: 400 invalid_request with an issue on query.cursor', () => {
    expect(mapError(new InvalidCursorError())).toEqual({
      status: 400,
      headers: {},
      body: {
        error: {
          code: 'invalid_request',
          message: 'the cursor is not one this API handed out',
          issues: [{ path: 'query.cursor', code: 'invalid_cursor', message: 'use the next_cursor value of a previous page' }],
        },
      },
    });
  });

  it('the errors carry facts, not HTTP', () => {
    const taken = new EmailTakenError('abcdefghijklmnopqrst');
    expect(taken).toBeInstanceOf(LeadServiceError);
    expect(taken).not.toBeInstanceOf(HttpError);
    expect(taken).toMatchObject({ name: 'EmailTakenError', holder: 'abcdefghijklmnopqrst' });
    expect(taken).not.toHaveProperty('status');
  });
});
