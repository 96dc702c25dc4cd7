import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, TaskIdParams } from '../schemas.js';
import type { TaskEventStreams } from '../task-events.js';

// GET /api/tasks/:task_id/events: the task as Server-Sent Events until it is terminal
// (task-events.ts). Errors before the stream starts (unknown task, Temporal down, the
// per-process cap) are JSON answers like every other route's.

export interface TaskEventRoutesOptions {
  streams: TaskEventStreams;
}

const STREAM_DESCRIPTION = [
  'A text/event-stream. `retry:` first, then `event: task` with the same JSON as GET /api/tasks/{task_id}',
  '(`id:` the task progress count) whenever the task changes, `: keep-alive` comments, `event: status`',
  '(`{"temporal":"unavailable"|"available"}`) while Temporal cannot be read, and `event: end`',
  '(`{"status":…}`) once the task is completed, failed or cancelled, after which the server closes the stream.',
  'A stream also ends after SSE_MAX_DURATION_MS or when the API process stops; reconnect with Last-Event-ID.',
].join(' ');

/** One event of the stream, as an SSE parser (schemathesis's included) hands it over. */
const StreamEvent = z
  .object({
    event: z.enum(['task', 'status', 'end', 'error']),
    data: z.string().meta({
      contentMediaType: 'application/json',
      description: 'task: the GET /api/tasks/{task_id} body; status: {"temporal": …}; end: {"status": …}; error: the API error body',
    }),
    id: z.string().regex(/^\d+$/).optional().meta({ description: "the task's progress count; resume with Last-Event-ID" }),
    retry: z.number().int().optional(),
  })
  .meta({ description: 'One Server-Sent Event' });

const EventHeaders = z.looseObject({
  'last-event-id': z
    .string()
    .optional()
    .meta({ description: 'The id of the last event received: the current view is sent only if the task has moved on since' }),
});

export const taskEventRoutes: FastifyPluginAsyncZod<TaskEventRoutesOptions> = async (app, { streams }) => {
  app.get(
    '/api/tasks/:task_id/events',
    {
      config: { access: 'read' },
      // HEAD would open a stream with no body to carry it.
      exposeHeadRoute: false,
      schema: {
        operationId: 'streamTaskEvents',
        summary: 'Live updates of one task as Server-Sent Events, until it is terminal',
        tags: ['tasks'],
        params: TaskIdParams,
        headers: EventHeaders,
        response: {
          200: { description: STREAM_DESCRIPTION, content: { 'text/event-stream': { schema: StreamEvent } } },
          ...errorResponses(400, 401, 404, 414, 429, 503),
        },
      },
    },
    async (request, reply) => {
      await streams.serve(request.params.task_id, request, reply);
      return reply;
    },
  );
};
