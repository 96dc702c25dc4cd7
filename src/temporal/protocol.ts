import { isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';

// Small pieces of Temporal's wire protocol that several callers need, written once.

// gRPC status codes (numbers from grpc's status.proto; no direct @grpc/grpc-js import).
export const GRPC_UNKNOWN = 2;
export const GRPC_INVALID_ARGUMENT = 3;
export const GRPC_NOT_FOUND = 5;
export const GRPC_ALREADY_EXISTS = 6;
export const GRPC_UNAVAILABLE = 14;

/** The gRPC status code of a service error, or of one it wraps (the SDK nests them as `cause`). */
export function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (isGrpcServiceError(e)) return e.code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** An unknown workflow: `fetchHistory` reports it as gRPC NOT_FOUND, not as WorkflowNotFoundError. */
export function isNotFound(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || grpcCode(err) === GRPC_NOT_FOUND;
}

/**
 * A list cursor back to the visibility page token it carries, or null when it cannot be
 * one (the caller answers 400). Page tokens are JSON objects
 * for both the SQL and Elasticsearch stores; anything else is refused here instead of
 * costing a round trip (an array, string or number makes the server fail the call in a way
 * the client retries until its deadline: a 503 after seconds, found by fuzzing).
 */
export function decodeCursor(cursor: string): Buffer | null {
  const token = Buffer.from(cursor, 'base64url');
  try {
    const parsed: unknown = JSON.parse(token.toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return token;
  } catch {
    // fall through
  }
  return null;
}

/** A visibility page token as the cursor the API hands out; null on the last page. */
export function encodeCursor(token: Uint8Array | null | undefined): string | null {
  return token && token.length > 0 ? Buffer.from(token).toString('base64url') : null;
}

type ProtoTimestamp = { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined;

/** A protobuf Timestamp as an ISO string (millisecond precision), or null when unset. */
export function isoTimestamp(t: ProtoTimestamp): string | null {
  if (t?.seconds === undefined || t.seconds === null) return null;
  return new Date(Number(t.seconds.toString()) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}

/** A string literal of Temporal's visibility query language. */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
