import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { leadWorkflowId } from '../../domain/ids.js';
import { LeadInput, LeadPatch } from '../../domain/lead.js';
import { MethodNotAllowedError } from '../errors.js';
import {
  ConsentAccepted,
  ConsentBody,
  CreateAccepted,
  ErasureAccepted,
  LeadExport,
  errorResponses,
  HistoryResponse,
  IdempotencyHeaders,
  LeadIdParams,
  LeadList,
  LeadResponse,
  ListQuery,
  WriteAccepted,
} from '../schemas.js';

// Statuses every /api route can answer besides its own: 400 (a parameter), 401 (API
// keys), 414 (URI too long), 429 (rate limit), 503 (Temporal or the process unavailable).
const readErrors = errorResponses(400, 401, 404, 414, 429, 503);
const writeErrors = errorResponses(400, 401, 404, 409, 413, 414, 415, 422, 429, 503);

/** One line per accepted write, joining the request id to the workflow that now holds the change. */
function logWrite(request: FastifyRequest, op: string, receipt: { id: string; task_id: string }): void {
  request.log.info({ op, lead_id: receipt.id, workflow_id: leadWorkflowId(receipt.id), task_id: receipt.task_id }, 'write accepted');
}

type App = Parameters<FastifyPluginAsyncZod>[0];

/** /api/leads: every write is handed to the lead's Temporal workflow before the 202. */
export const leadRoutes: FastifyPluginAsyncZod = async (app) => {
  writeRoutes(app);
  readRoutes(app);
  personalDataRoutes(app);
  // `/api/leads/batch` (POST, lead-batch.ts) sits beside `/api/leads/:id`: other methods on
  // it would reach the lead routes and fail as a bad lead id; they are refused as methods.
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: '/api/leads/batch',
    config: { refusesMethod: true, access: 'any-key' },
    schema: { hide: true },
    handler: async (request) => {
      throw new MethodNotAllowedError(request.method, '/api/leads/batch', ['POST']);
    },
  });
};

/** POST, PUT, PATCH: 202 once Temporal holds the change; the task id follows its work. */
function writeRoutes(app: App): void {
  app.post(
    '/api/leads',
    {
      config: { access: 'write' },
      schema: {
        operationId: 'createLead',
        summary: 'Create a lead (deduplicated by normalized email)',
        tags: ['leads'],
        headers: IdempotencyHeaders,
        body: LeadInput,
        response: { 202: CreateAccepted, ...errorResponses(400, 401, 413, 414, 415, 422, 429, 503) },
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
      config: { access: 'write' },
      schema: {
        operationId: 'replaceLead',
        summary: 'Replace a lead (email required)',
        tags: ['leads'],
        params: LeadIdParams,
        headers: IdempotencyHeaders,
        body: LeadInput,
        response: { 202: WriteAccepted, ...writeErrors },
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
      config: { access: 'write' },
      schema: {
        operationId: 'patchLead',
        summary: 'Change some fields of a lead (null clears a field)',
        tags: ['leads'],
        params: LeadIdParams,
        headers: IdempotencyHeaders,
        body: LeadPatch,
        response: { 202: WriteAccepted, ...writeErrors },
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
      config: { access: 'read' },
      schema: {
        operationId: 'listLeads',
        summary: 'List leads, filtered by email or stage (Temporal visibility)',
        tags: ['leads'],
        querystring: ListQuery,
        response: { 200: LeadList, ...errorResponses(400, 401, 414, 429, 503) },
      },
    },
    async (request) => app.leads.list(request.query),
  );

  app.get(
    '/api/leads/:id',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getLead',
        summary: 'Read a lead',
        tags: ['leads'],
        params: LeadIdParams,
        response: { 200: LeadResponse, ...readErrors },
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
      config: { access: 'read' },
      schema: {
        operationId: 'getLeadHistory',
        summary: "A lead's changes, CRM syncs, emails, retries and failures, from Temporal history",
        tags: ['leads'],
        params: LeadIdParams,
        response: { 200: HistoryResponse, ...readErrors },
      },
    },
    async (request) => ({ events: await app.leads.history(request.params.id) }),
  );
}

/** Consent, erasure and export: the rules that belong to the person (docs/personal-data.md). */
function personalDataRoutes(app: App): void {
  app.post(
    '/api/leads/:id/consent',
    {
      config: { access: 'write' },
      schema: {
        operationId: 'setLeadConsent',
        summary: "Record the address's consent: opt out, or resubscribe on the person's own renewed consent (source required)",
        tags: ['leads'],
        params: LeadIdParams,
        body: ConsentBody,
        response: { 202: ConsentAccepted, ...errorResponses(400, 401, 404, 413, 414, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { subscribed, source } = request.body;
      const receipt = subscribed ? await app.leads.resubscribe(id, `api: ${source}`) : await app.leads.optOut(id, `api: ${source}`);
      request.log.info({ op: 'consent', lead_id: id, subscribed, changed: receipt.status === 'queued' }, 'consent recorded');
      return reply.code(202).send(receipt);
    },
  );

  app.delete(
    '/api/leads/:id',
    {
      config: { access: 'write' },
      schema: {
        operationId: 'eraseLead',
        summary: 'Erase a lead everywhere (Temporal, CRM); its address stays suppressed by keyed hash. Follow the task.',
        tags: ['leads'],
        params: LeadIdParams,
        response: { 202: ErasureAccepted, ...readErrors },
      },
    },
    async (request, reply) => {
      const receipt = await app.leads.erase(request.params.id);
      logWrite(request, 'erase', receipt);
      return reply.code(202).send(receipt);
    },
  );

  app.get(
    '/api/leads/:id/export',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'exportLead',
        summary: 'Everything the service holds about a lead: fields, consent, email claim, CRM state, history',
        tags: ['leads'],
        params: LeadIdParams,
        response: { 200: LeadExport, ...readErrors },
      },
    },
    async (request) => app.leads.export(request.params.id),
  );
}

export type LeadBody = z.infer<typeof LeadInput>;
