import type { CrmRecord, CrmRequestGate, VendorLimits } from '../../src/activities/crm/connector.js';

/** Leads and a recording request gate for the HubSpot tests. */

export function leadRecord(leadId: string, email: string, version = 1, extra: Partial<CrmRecord['lead']> = {}): CrmRecord {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    leadId,
    version,
    lead: { id: leadId, email, version, score: 10, stage: 'new', created_at: at, updated_at: at, first_name: 'Ada', ...extra },
  };
}

export function recordingGate(): CrmRequestGate & { acquired: number; observed: VendorLimits[] } {
  const gate = {
    acquired: 0,
    observed: [] as VendorLimits[],
    acquire: async () => {
      gate.acquired += 1;
      return Date.now();
    },
    observe: (limits: VendorLimits) => {
      gate.observed.push(limits);
    },
  };
  return gate;
}
