import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses, TaskIdParams, TaskResponse } from '../schemas.js';

export const taskRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/tasks/:task_id',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getTask',
        summary: 'Status of one accepted change: steps, attempts, last error',
        tags: ['tasks'],
        params: TaskIdParams,
        response: { 200: TaskResponse, ...errorResponses(400, 401, 404, 414, 429, 503) },
      },
    },
    async (request, reply) => {
      const { task, source } = await app.leads.task(request.params.task_id);
      return reply.header('x-read-source', source).send({ ...task, read_source: source });
    },
  );
};
