import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Custom search attributes of lead workflows. Operators filter on the same names in the
// Temporal Web UI, e.g. `LeadStage = "qualified" AND LeadScore >= 60`.
export const LEAD_SEARCH_ATTRIBUTE_KEYS = {
  email: defineSearchAttributeKey('LeadEmail', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('LeadStage', SearchAttributeType.KEYWORD),
  score: defineSearchAttributeKey('LeadScore', SearchAttributeType.INT),
  crmStatus: defineSearchAttributeKey('LeadCrmStatus', SearchAttributeType.KEYWORD),
  version: defineSearchAttributeKey('LeadVersion', SearchAttributeType.INT),
} as const;
