import type { LeadFields, LeadView } from './lead.js';

// Type imports only: workflow code imports this module (see apply-change.ts).

/** What a lead carries besides its fields. */
export interface LeadMeta {
  version: number;
  score: number;
  crm: LeadView['crm'];
  createdAt: string;
  updatedAt: string;
}

/** The lead as reads show it: its fields, and its state. Used by the workflow and the read model. */
export function leadView(leadId: string, fields: LeadFields, state: LeadMeta): LeadView {
  return {
    ...fields,
    id: leadId,
    version: state.version,
    score: state.score,
    stage: fields.stage ?? 'new',
    crm: { ...state.crm },
    created_at: state.createdAt,
    updated_at: state.updatedAt,
  };
}
