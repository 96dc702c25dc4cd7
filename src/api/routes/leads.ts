import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { leadWorkflowId } from '../../domain/ids.js';
import { LeadInput, LeadPatch } from '../../domain/lead.js';
import {
  CreateAccepted,
  ErrorResponse,
  HistoryResponse,
  IdempotencyHeaders,
  LeadIdParams,
  LeadList,
  LeadResponse,
  ListQuery,
  WriteAccepted,
} from '../schemas.js';

const errors = {
  400: ErrorResponse,
  401: ErrorResponse,
  404: ErrorResponse,
  413: ErrorResponse,
  415: ErrorResponse,
  422: ErrorResponse,
  429: ErrorResponse,
  503: ErrorResponse,
};

/** One line per accepted write, joining the request id to the workflow that now holds the change. */
function logWrite(request: FastifyRequest, op: string, receipt: { id: string; task_id: string }): void {
  request.log.info({ op, lead_id: receipt.id, workflow_id: leadWorkflowId(receipt.id), task_id: receipt.task_id }, 'write accepted');
}

type App = Parameters<FastifyPluginAsyncZod>[0];

/** /api/leads: every write is handed to the lead's Temporal workflow before the 202. */
export const leadRoutes: FastifyPluginAsyncZod = async (app) => {
  writeRoutes(app);
  readRoutes(app);
};

/** POST, PUT, PATCH: 202 once Temporal holds the change; the task id follows its work. */
function writeRoutes(app: App): void {
  app.post(
    '/api/leads',
    {
      schema: {
        summary: 'Create a lead (deduplicated by normalized email)',
        tags: ['leads'],
        headers: IdempotencyHeaders,
        body: LeadInput,
        response: { 202: CreateAccepted, ...errors },
      },
    },
    async (request, reply) => {
      const receipt = await app.leads.create(request.body, request.headers['idempotency-key']);
      logWrite(request, 'create', receipt);
      return reply.code(202).header('location', `/api/leads/${receipt.id}`).send(receipt);
    },
  );

  app.put(
    '/api/leads/:id',
    {
      schema: {
        summary: 'Replace a lead (email required)',
        tags: ['leads'],
        params: LeadIdParams,
        headers: IdempotencyHeaders,
        body: LeadInput,
        response: { 202: WriteAccepted, ...errors },
      },
    },
    async (request, reply) => {
      const receipt = await app.leads.update(request.params.id, 'replace', request.body, request.headers['idempotency-key']);
      logWrite(request, 'replace', receipt);
      return reply.code(202).send(receipt);
    },
  );

  app.patch(
    '/api/leads/:id',
    {
      schema: {
        summary: 'Change some fields of a lead (null clears a field)',
        tags: ['leads'],
        params: LeadIdParams,
        headers: IdempotencyHeaders,
        body: LeadPatch,
        response: { 202: WriteAccepted, ...errors },
      },
    },
    async (request, reply) => {
      const receipt = await app.leads.update(request.params.id, 'patch', request.body, request.headers['idempotency-key']);
      logWrite(request, 'patch', receipt);
      return reply.code(202).send(receipt);
    },
  );

}

/** GET: the list from visibility, one lead from its read model, its history from Temporal. */
function readRoutes(app: App): void {
  app.get(
    '/api/leads',
    {
      schema: {
        summary: 'List leads, filtered by email or stage (Temporal visibility)',
        tags: ['leads'],
        querystring: ListQuery,
        response: { 200: LeadList, ...errors },
      },
    },
    async (request) => app.leads.list(request.query),
  );

  app.get(
    '/api/leads/:id',
    {
      schema: {
        summary: 'Read a lead',
        tags: ['leads'],
        params: LeadIdParams,
        response: { 200: LeadResponse, ...errors },
      },
    },
    async (request, reply) => {
      const { lead, source } = await app.leads.get(request.params.id);
      return reply.header('x-read-source', source).send({ ...lead, read_source: source });
    },
  );

  app.get(
    '/api/leads/:id/history',
    {
      schema: {
        summary: "A lead's changes, CRM syncs, emails, retries and failures, from Temporal history",
        tags: ['leads'],
        params: LeadIdParams,
        response: { 200: HistoryResponse, ...errors },
      },
    },
    async (request) => ({ events: await app.leads.history(request.params.id) }),
  );
}

export type LeadBody = z.infer<typeof LeadInput>;
