import type { temporal } from '@temporalio/proto';
import { decodeCursor, encodeCursor, grpcCode, GRPC_INVALID_ARGUMENT, GRPC_UNKNOWN } from './protocol.js';
import type { TemporalCalls } from './calls.js';

type Execution = temporal.api.workflow.v1.IWorkflowExecutionInfo;

export interface VisibilityPage {
  query: string;
  limit: number;
  cursor?: string | undefined;
}

/** A page cursor that this API did not hand out (malformed, or forged and refused by the server). */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
  constructor() {
    super('the cursor is not one this API handed out');
  }
}

/**
 * One page of a visibility query, its cursor the server's page token. A cursor this API did
 * not hand out is an InvalidCursorError, whether it is refused here or, well-formed but
 * forged, by the server.
 */
export async function listExecutions<T>(
  calls: TemporalCalls,
  namespace: string,
  page: VisibilityPage,
  deadline: number,
  toItem: (execution: Execution) => T | undefined,
): Promise<{ items: T[]; next_cursor: string | null }> {
  const pageToken = page.cursor ? decodeCursor(page.cursor) : undefined;
  if (pageToken === null) throw new InvalidCursorError();
  const response = await calls
    .within(deadline, () =>
      calls.client.workflowService.listWorkflowExecutions({ namespace, query: page.query, pageSize: page.limit, nextPageToken: pageToken }),
    )
    .catch((err: unknown) => {
      const code = grpcCode(err);
      if (pageToken && (code === GRPC_INVALID_ARGUMENT || code === GRPC_UNKNOWN)) throw new InvalidCursorError();
      throw err;
    });
  await calls.decoded(response);
  const items = (response.executions ?? []).map(toItem).filter((item): item is T => item !== undefined);
  return { items, next_cursor: encodeCursor(response.nextPageToken) };
}
