import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { signEmailEvent } from '../../src/email-events/signature.js';
import type { SinkMessage } from './smtp-message.js';

/**
 * Bounces and complaints on demand: after accepting a message to a configured address, the
 * sink posts a signed Mailgun-shaped event about it to the API's /webhooks/email-events, as a
 * real provider would once the receiving server bounced it or the recipient marked it as spam.
 */

export interface SinkEventsOptions {
  /** Where events go (the API's /webhooks/email-events); unset = none are sent. */
  url?: string | undefined;
  /** The signing key, the API's EMAIL_EVENTS_SECRET. */
  secret?: string | undefined;
  /** Addresses whose messages bounce (a permanent failure). */
  bounce?: readonly string[];
  /** Addresses whose messages draw a spam complaint. */
  complain?: readonly string[];
}

export const eventAddressesSchema = z.strictObject({
  bounce: z.array(z.string().trim().toLowerCase().pipe(z.email())).max(1000),
  complain: z.array(z.string().trim().toLowerCase().pipe(z.email())).max(1000),
});
export type EventAddresses = z.infer<typeof eventAddressesSchema>;

export interface SinkEvents {
  url: string | undefined;
  secret: string | undefined;
  addresses: EventAddresses;
  /** The addresses the sink started with; /_sim/reset goes back to them. */
  configured: EventAddresses;
  /** Events the receiver answered 2xx / anything else or not at all. */
  sent: number;
  failed: number;
  /** Posts still under way (close() waits for them). */
  pending: Set<Promise<void>>;
}

export function createSinkEvents(options: SinkEventsOptions = {}): SinkEvents {
  const configured = eventAddressesSchema.parse({ bounce: options.bounce ?? [], complain: options.complain ?? [] });
  return {
    url: options.url,
    secret: options.secret,
    addresses: configured,
    configured,
    sent: 0,
    failed: 0,
    pending: new Set(),
  };
}

export type SinkEventKind = 'bounce' | 'complain';

/** The event body for `recipient`, signed: a permanent `failed` for a bounce, `complained` for a complaint. */
export function mailgunEvent(secret: string, kind: SinkEventKind, recipient: string, message: Pick<SinkMessage, 'messageId'>, nowMs = Date.now()) {
  const timestamp = String(Math.floor(nowMs / 1000));
  const token = randomBytes(25).toString('hex'); // 50 characters, as Mailgun's
  const common = { id: randomBytes(11).toString('base64url'), timestamp: nowMs / 1000, recipient, message: { headers: { 'message-id': message.messageId } } };
  const data =
    kind === 'bounce'
      ? { ...common, event: 'failed', severity: 'permanent', reason: 'bounce', 'delivery-status': { code: 550, message: '5.1.1 Simulated: the mailbox does not exist' } }
      : { ...common, event: 'complained' };
  return { signature: { timestamp, token, signature: signEmailEvent(secret, timestamp, token) }, 'event-data': data };
}

/** Posts an event for every recipient of `message` that is configured to bounce or complain; never throws. */
export function emitEvents(events: SinkEvents, message: SinkMessage): void {
  const { url, secret } = events;
  if (!url || !secret) return;
  for (const recipient of message.to) {
    const address = recipient.toLowerCase();
    const kind: SinkEventKind | undefined = events.addresses.bounce.includes(address)
      ? 'bounce'
      : events.addresses.complain.includes(address)
        ? 'complain'
        : undefined;
    if (!kind) continue;
    const post = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(mailgunEvent(secret, kind, address, message)),
      signal: AbortSignal.timeout(10_000),
    }).then(
      (res) => {
        if (res.ok) events.sent += 1;
        else events.failed += 1;
        return res.body?.cancel();
      },
      () => {
        events.failed += 1;
      },
    );
    const tracked = post.finally(() => events.pending.delete(tracked));
    events.pending.add(tracked);
  }
}

/** Back to the configured addresses, counters at zero; posts under way finish on their own. */
export function resetSinkEvents(events: SinkEvents): void {
  events.addresses = events.configured;
  events.sent = 0;
  events.failed = 0;
}

