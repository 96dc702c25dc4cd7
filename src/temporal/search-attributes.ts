import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Custom search attributes of lead workflows: the one list. Workflows set them by these
// keys; the dev server and `temporal operator search-attribute create` register the same
// names. Operators filter on them in the Temporal Web UI, e.g.
// `LeadStage = "qualified" AND LeadScore >= 60`.
//
// Search attributes are stored and indexed in clear text: the payload codec cannot encrypt
// them, or the server could not filter on them. So they hold no personal data. LeadEmail is
// kept registered only for lead runs started before generation 4 (lead-messages.ts), which
// still carry it; newer runs do not set it, and a lookup by email goes by the workflow id,
// `lead-<id>`, whose id is a hash of the email the lead was created with (domain/ids.ts).
export const LEAD_SEARCH_ATTRIBUTE_KEYS = {
  email: defineSearchAttributeKey('LeadEmail', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('LeadStage', SearchAttributeType.KEYWORD),
  score: defineSearchAttributeKey('LeadScore', SearchAttributeType.INT),
  crmStatus: defineSearchAttributeKey('LeadCrmStatus', SearchAttributeType.KEYWORD),
  version: defineSearchAttributeKey('LeadVersion', SearchAttributeType.INT),
} as const;

/** A value type as the Temporal CLI spells it (`--search-attribute LeadScore=Int`). */
export type SearchAttributeKind = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

const CLI_KIND: Record<SearchAttributeType, SearchAttributeKind> = {
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/** The keys above by name, for registering them on a server: `{ LeadEmail: 'Keyword', … }`. */
export const LEAD_SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeKind>> = Object.fromEntries(
  Object.values(LEAD_SEARCH_ATTRIBUTE_KEYS).map((key) => [key.name, CLI_KIND[key.type]]),
);
