import { createHmac, timingSafeEqual } from 'node:crypto';

// Unsubscribe links: `<UNSUBSCRIBE_BASE_URL>?lead=<leadId>&token=<hmac>`. The token is an
// HMAC of the lead id under UNSUBSCRIBE_SECRET, so a link unsubscribes only its own lead
// and cannot be forged from a lead id alone.

/** The key when UNSUBSCRIBE_SECRET is unset: fine on a laptop, not in production. */
export const DEV_UNSUBSCRIBE_SECRET = 'development-only-unsubscribe-secret';

export function unsubscribeToken(secret: string, leadId: string): string {
  return createHmac('sha256', secret).update(`unsubscribe:${leadId}`).digest('base64url').slice(0, 32);
}

export function verifyUnsubscribeToken(secret: string, leadId: string, token: string): boolean {
  const expected = Buffer.from(unsubscribeToken(secret, leadId));
  const given = Buffer.from(token);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function unsubscribeUrl(baseUrl: string, secret: string, leadId: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set('lead', leadId);
  url.searchParams.set('token', unsubscribeToken(secret, leadId));
  return url.toString();
}
