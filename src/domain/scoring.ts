import type { LeadFields } from './lead.js';

// Pure lead processing: normalization and scoring. Runs inside the `processLead`
// activity; kept free of I/O so unit tests and the workflow sandbox can import it.

const FREE_MAIL_DOMAINS = new Set([
  'gmail.com', 'googlemail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'live.com',
  'icloud.com', 'aol.com', 'proton.me', 'protonmail.com', 'gmx.com', 'gmx.de', 'mail.com',
  'yandex.ru', 'web.de',
]);

const SOURCE_POINTS: Record<string, number> = {
  referral: 25,
  demo_request: 25,
  webinar: 15,
  event: 15,
  website: 10,
  content: 10,
  ads: 5,
  cold_outreach: 0,
};

const STAGE_POINTS: Record<string, number> = {
  new: 0,
  contacted: 5,
  qualified: 15,
  unqualified: -40,
  customer: 20,
};

function titleCase(name: string): string {
  // Only re-case names typed all in one case; "McDonald" or "van der Berg" stay as given.
  if (name !== name.toLowerCase() && name !== name.toUpperCase()) return name;
  return name.toLowerCase().replace(/(^|[\s'-])(\p{L})/gu, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

function normalizePhone(phone: string): string {
  const plus = phone.trim().startsWith('+');
  const digits = phone.replace(/\D/g, '');
  return digits === '' ? '' : (plus ? '+' : '') + digits;
}

/** Canonical form of a lead: lower-case email and source, tidy names and phone. */
export function normalizeLead(lead: LeadFields): LeadFields {
  const out: LeadFields = { ...lead, email: lead.email.trim().toLowerCase() };
  if (lead.first_name !== undefined) out.first_name = titleCase(lead.first_name);
  if (lead.last_name !== undefined) out.last_name = titleCase(lead.last_name);
  if (lead.phone !== undefined) out.phone = normalizePhone(lead.phone);
  if (lead.source !== undefined) out.source = lead.source.toLowerCase().replace(/[\s-]+/g, '_');
  if (lead.company !== undefined) out.company = lead.company.trim();
  return out;
}

export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1);
}

/** A 0..100 score from how complete and how promising the lead looks. */
export function scoreLead(lead: LeadFields): number {
  let score = 10;
  if (lead.first_name) score += 5;
  if (lead.last_name) score += 5;
  if (lead.company) score += 15;
  if (lead.phone) score += 10;
  if (!FREE_MAIL_DOMAINS.has(emailDomain(lead.email))) score += 15;
  score += SOURCE_POINTS[lead.source ?? ''] ?? 0;
  score += STAGE_POINTS[lead.stage ?? 'new'] ?? 0;
  if (lead.tags?.includes('enterprise')) score += 10;
  if (lead.unsubscribed) score -= 20;
  return Math.max(0, Math.min(100, score));
}
