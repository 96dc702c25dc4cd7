import { applyPatch, checkLead, type SfRecordError } from './lead-rules.js';
import { countRecordError, newLeadId, type SalesforceState } from './sf-state.js';

/**
 * sObject Collections upsert by external id: records are saved in order, each seeing the ones
 * before it (so two records of one batch with one email are duplicates). With allOrNone the
 * request works on a draft of the store that is kept only when every record saved; otherwise
 * the failing records are refused one by one and the others land.
 */

export type UpsertResult = { id: string; success: true; created: boolean; errors: [] } | { id?: string; success: false; errors: SfRecordError[] };

const ROLLED_BACK: SfRecordError = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

export function upsertCollection(state: SalesforceState, records: Record<string, unknown>[], allOrNone: boolean): UpsertResult[] {
  const store = allOrNone ? state.leads.clone() : state.leads;
  const now = new Date().toISOString();
  const results: UpsertResult[] = records.map((record) => {
    const errors = lockFault(state);
    const externalId = record[store.externalIdField];
    if (errors.length === 0 && (typeof externalId !== 'string' || externalId === '')) {
      errors.push({ statusCode: 'REQUIRED_FIELD_MISSING', message: `Required fields are missing: [${store.externalIdField}]`, fields: [store.externalIdField] });
    }
    if (errors.length > 0) return { success: false, errors };
    const existing = store.withExternalId(externalId as string);
    const id = existing?.Id ?? newLeadId(state);
    const lead = applyPatch(existing, id, record, now);
    const refused = checkLead(store, id, lead.fields);
    if (refused.length > 0) return existing ? { id, success: false, errors: refused } : { success: false, errors: refused };
    store.put(lead);
    return { id, success: true, created: existing === undefined, errors: [] };
  });

  state.stats.records += records.length;
  for (const result of results) for (const error of result.errors) countRecordError(state, error.statusCode);
  const failed = results.some((r) => !r.success);
  if (allOrNone && failed) return results.map((r) => (r.success ? { success: false, errors: [ROLLED_BACK] } : { success: false, errors: r.errors }));
  if (allOrNone) state.leads = store;
  for (const r of results) if (r.success) state.stats[r.created ? 'created' : 'updated'] += 1;
  return results;
}

function lockFault(state: SalesforceState): SfRecordError[] {
  if (state.faults.lockRowNext <= 0) return [];
  state.faults.lockRowNext -= 1;
  return [{ statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record or 1 records', fields: [] }];
}
