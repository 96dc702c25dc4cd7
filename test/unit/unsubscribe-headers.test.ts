import { describe, expect, it } from 'vitest';
import { renderWelcome } from '../../src/activities/email-templates.js';
import { unsubscribeLink } from '../../src/activities/unsubscribe-headers.js';
import { verifyUnsubscribeToken } from '../../src/automations/unsubscribe.js';
import type { LeadView } from '../../src/domain/lead.js';

const settings = { unsubscribeBaseUrl: 'https://leads.example.com/unsubscribe', unsubscribeSecret: 'a-long-test-secret-value' };

describe('unsubscribe link and one-click headers', () => {
  it('builds a signed link and the RFC 8058 headers that offer it', () => {
    const { url, headers } = unsubscribeLink(settings, 'lead123');
    const parsed = new URL(url);
    expect(parsed.origin + parsed.pathname).toBe('https://leads.example.com/unsubscribe');
    expect(parsed.searchParams.get('lead')).toBe('lead123');
    expect(verifyUnsubscribeToken(settings.unsubscribeSecret, 'lead123', parsed.searchParams.get('token')!)).toBe(true);
    expect(headers).toEqual({ 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' });
  });

  it('refuses to build a link without settings (a wiring mistake), for good', () => {
    expect(() => unsubscribeLink(undefined, 'lead123')).toThrow(expect.objectContaining({ type: 'UnsubscribeNotConfigured', nonRetryable: true }));
  });

  it('puts the link in the welcome email, text and html', () => {
    const { url } = unsubscribeLink(settings, 'lead123');
    const email = renderWelcome({ email: 'ada@example.com', first_name: 'Ada' } as LeadView, url);
    expect(email.text).toContain(url);
    expect(email.html).toContain(`href="${url.replace(/&/g, '&amp;')}"`);
  });
});
