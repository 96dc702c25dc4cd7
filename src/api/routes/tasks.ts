import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse, TaskIdParams, TaskResponse } from '../schemas.js';

export const taskRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/tasks/:task_id',
    {
      schema: {
        summary: 'Status of one accepted change: steps, attempts, last error',
        tags: ['tasks'],
        params: TaskIdParams,
        response: { 200: TaskResponse, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { task, source } = await app.leads.task(request.params.task_id);
      return reply.header('x-read-source', source).send({ ...task, read_source: source });
    },
  );
};
