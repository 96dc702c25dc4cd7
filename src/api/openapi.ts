// What the route schemas cannot say themselves, added to the generated OpenAPI document:
// who must authenticate, and how one answer leads to the next request (OpenAPI links, which
// client generators and schemathesis's stateful tests follow: create -> read -> update -> task).

/** The parts of an OpenAPI 3.0 document this module touches. */
interface Operation {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { links?: Record<string, Link> }>;
}
interface Doc {
  components?: Record<string, unknown>;
  paths?: Record<string, Record<string, Operation | unknown>>;
}
type Link = { operationId: string; parameters: Record<string, string> };

const LEAD_ID = { id: '$response.body#/id' };
const TASK_ID = { task_id: '$response.body#/task_id' };
const RUN_ID = { run_id: '$response.body#/run_id' };

/** The links each operation's success answer offers, by operationId. */
const LINKS: Record<string, Record<string, Link>> = {
  createLead: {
    GetLead: { operationId: 'getLead', parameters: LEAD_ID },
    ReplaceLead: { operationId: 'replaceLead', parameters: LEAD_ID },
    PatchLead: { operationId: 'patchLead', parameters: LEAD_ID },
    GetLeadHistory: { operationId: 'getLeadHistory', parameters: LEAD_ID },
    ListLeadAutomationRuns: { operationId: 'listLeadAutomationRuns', parameters: LEAD_ID },
    GetTask: { operationId: 'getTask', parameters: TASK_ID },
  },
  importLeads: {
    GetFirstLead: { operationId: 'getLead', parameters: { id: '$response.body#/items/0/id' } },
    GetFirstTask: { operationId: 'getTask', parameters: { task_id: '$response.body#/items/0/task_id' } },
  },
  replaceLead: { GetTask: { operationId: 'getTask', parameters: TASK_ID }, GetLead: { operationId: 'getLead', parameters: LEAD_ID } },
  patchLead: { GetTask: { operationId: 'getTask', parameters: TASK_ID }, GetLead: { operationId: 'getLead', parameters: LEAD_ID } },
  startAutomationRun: {
    GetAutomationRun: { operationId: 'getAutomationRun', parameters: RUN_ID },
    CancelAutomationRun: { operationId: 'cancelAutomationRun', parameters: RUN_ID },
  },
  retryAutomationRun: { GetAutomationRun: { operationId: 'getAutomationRun', parameters: RUN_ID } },
  retryLeads: { GetRedriveJob: { operationId: 'getRedriveJob', parameters: { job_id: '$response.body#/job_id' } } },
};

/** The bearer scheme; each operation's security names the scope it needs. */
export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: "an API key from API_KEYS; each operation's security names the scope it needs (read, write or admin), 403 missing_scope without it",
  },
} as const;

/** Routes outside /api: no API key (the unsubscribe link's token is its own credential). */
const OPEN_PATHS = (path: string) => !path.startsWith('/api/');

/**
 * Adds the bearer scheme (always, so the docs page offers "Authorize"), requires it on /api
 * operations when API keys are configured, and adds the links between operations.
 */
export function completeDocument<D extends object>(generated: D, withKeys: boolean): D {
  const doc = generated as Doc;
  doc.components = { ...doc.components, securitySchemes: SECURITY_SCHEMES };
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const value of Object.values(item ?? {})) {
      if (!value || typeof value !== 'object' || !('responses' in value)) continue;
      const operation = value as Operation;
      // The route's own (its scope, app.ts), else any key; none when the API is open.
      operation.security = withKeys && !OPEN_PATHS(path) ? (operation.security?.length ? operation.security : [{ bearer: [] }]) : [];
      const links = operation.operationId ? LINKS[operation.operationId] : undefined;
      if (!links) continue;
      for (const [status, response] of Object.entries(operation.responses)) {
        if (status.startsWith('2')) response.links = links;
      }
    }
  }
  return generated;
}
