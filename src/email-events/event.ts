import { z } from 'zod';
import { Email } from '../domain/lead.js';
import type { SuppressionReason } from '../identity/address-book.js';

// The body of an email event as Mailgun posts it (documentation.mailgun.com, "Webhooks"):
// {"signature": {timestamp, token, signature}, "event-data": {event, severity, recipient, …}}.
// Only the fields used here are read; a provider's other fields are ignored, not refused,
// since providers add fields over time.

export const EventSignatureBody = z.object({
  // Mailgun writes it as a string; a number is read as the same text.
  timestamp: z.union([z.string().regex(/^\d{1,12}$/, { message: 'must be seconds since the epoch' }), z.int().min(0).max(999_999_999_999)]).transform(String),
  token: z.string().min(1).max(256),
  signature: z.string().regex(/^[0-9a-fA-F]{64}$/, { message: 'must be a hex HMAC-SHA256' }),
});

export const EmailEventData = z
  .object({
    /** `failed` and `complained` act; any other event is acknowledged and ignored. */
    event: z.string().min(1).max(64),
    severity: z.enum(['permanent', 'temporary']).optional(),
    recipient: Email,
    reason: z.string().max(500).optional(),
    /** Seconds since the epoch, with a fraction. */
    timestamp: z.number().min(0),
  })
  .superRefine((data, ctx) => {
    if (data.event === 'failed' && data.severity === undefined) {
      ctx.addIssue({ code: 'custom', path: ['severity'], message: 'a failed event needs its severity (permanent or temporary)' });
    }
  });

export const EmailEventBody = z.object({ signature: EventSignatureBody, 'event-data': EmailEventData });
export type EmailEventBody = z.infer<typeof EmailEventBody>;
export type EmailEventData = z.infer<typeof EmailEventData>;

/**
 * What an event does to its address: a permanent failure (hard bounce) and a spam complaint
 * suppress it; a temporary failure (the provider retries) and every other event do nothing.
 */
export function suppressionReasonOf(data: EmailEventData): Extract<SuppressionReason, 'bounced' | 'complained'> | null {
  if (data.event === 'failed' && data.severity === 'permanent') return 'bounced';
  if (data.event === 'complained') return 'complained';
  return null;
}
