import { randomUUID } from 'node:crypto';

/** HubSpot's error answer: `{status:'error', message, correlationId, category, errors?, context?}`. */

export type ErrorCategory = 'VALIDATION_ERROR' | 'CONFLICT' | 'OBJECT_NOT_FOUND' | 'INVALID_AUTHENTICATION' | 'RATE_LIMITS' | 'INTERNAL_ERROR' | 'SERVICE_UNAVAILABLE';

export interface ErrorDetail {
  message: string;
  code?: string;
  in?: string;
  context?: Record<string, string[]>;
}

export interface HubSpotError {
  status: 'error';
  message: string;
  correlationId: string;
  category: ErrorCategory;
  errors?: ErrorDetail[];
  context?: Record<string, string[]>;
}

export function errorBody(category: ErrorCategory, message: string, extra: { errors?: ErrorDetail[]; context?: Record<string, string[]> } = {}): HubSpotError {
  return { status: 'error', message, correlationId: randomUUID(), category, ...extra };
}

/** A request refused, with the status to answer it with. */
export interface Refusal {
  status: number;
  body: HubSpotError;
}

export function validationError(message: string, errors: ErrorDetail[] = []): Refusal {
  return { status: 400, body: errorBody('VALIDATION_ERROR', message, errors.length > 0 ? { errors } : {}) };
}
