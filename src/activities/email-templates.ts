import type { LeadView } from '../domain/lead.js';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The welcome email every new lead gets once, with the lead's unsubscribe link. */
export function renderWelcome(lead: LeadView, unsubscribeUrl: string): RenderedEmail {
  const name = lead.first_name || 'there';
  const company = lead.company ? ` at ${lead.company}` : '';
  return {
    subject: `Welcome, ${name}`,
    text:
      `Hi ${name},\n\nThanks for your interest${company}. A member of our team will be in touch soon.\n\n— The Sales Team\n\n` +
      `To stop receiving these emails: ${unsubscribeUrl}\n`,
    html:
      `<p>Hi ${escapeHtml(name)},</p><p>Thanks for your interest${escapeHtml(company)}. A member of our team will be in touch soon.</p><p>— The Sales Team</p>` +
      `<p><small><a href="${escapeHtml(unsubscribeUrl)}">Unsubscribe</a> to stop receiving these emails.</small></p>`,
  };
}

export const EMAIL_TEMPLATES = { welcome: renderWelcome } as const;
export type EmailTemplateName = keyof typeof EMAIL_TEMPLATES;
