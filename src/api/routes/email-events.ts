import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EmailEventBody, suppressionReasonOf } from '../../email-events/event.js';
import { EmailEventVerifier, type VerifierOptions } from '../../email-events/signature.js';
import { EmailEventRefusedError, EmailEventsOffError, LeadNotFoundError } from '../errors.js';
import type { TemporalCalls } from '../temporal-calls.js';

export interface EmailEventsOptions {
  /** EMAIL_EVENTS_SECRET; unset = the intake is off and answers 503. */
  secret?: string | undefined;
  /** The API's Temporal calls: the address book's calls run under their deadline. */
  calls?: TemporalCalls | undefined;
  /** Deadline of the address book's calls (WRITE_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Window and token memory of the signature checks (tests shorten them). */
  verifier?: VerifierOptions;
}

const Accepted = z.object({ accepted: z.literal(true), suppressed: z.boolean() });

/**
 * Bounce and complaint events from the email provider (docs/email-events.md). Not under
 * /api: the signature in the body is the credential, as the token is for /unsubscribe.
 */
export const emailEventRoutes: FastifyPluginAsyncZod<EmailEventsOptions> = async (app, options) => {
  const { secret, calls } = options;
  const addresses = app.addressBook;
  const verifier = secret ? new EmailEventVerifier(secret, options.verifier) : undefined;
  const timeoutMs = options.timeoutMs ?? 5000;

  app.post(
    '/webhooks/email-events',
    {
      schema: { hide: true, body: EmailEventBody, response: { 200: Accepted } },
      // Off is off whatever the body: checked before the body is validated.
      preValidation: async () => {
        if (!verifier || !addresses || !calls) throw new EmailEventsOffError();
      },
    },
    async (request) => {
      const { signature, 'event-data': data } = request.body;
      const verdict = verifier!.check(signature);
      if (verdict !== 'valid') throw new EmailEventRefusedError(verdict);
      const reason = suppressionReasonOf(data);
      if (!reason) return { accepted: true as const, suppressed: false };
      try {
        const email = data.recipient;
        const at = new Date(data.timestamp * 1000).toISOString();
        const { fresh, holder } = await calls!.within(Date.now() + timeoutMs, async () => {
          const suppressed = await addresses!.suppress(email, { reason, source: 'email_events', at });
          return { fresh: suppressed, holder: suppressed ? await addresses!.holder(email) : null };
        });
        // The lead holding the address shows it (and its CRM gets it); a suppression that was
        // already there was shown when it was made.
        if (holder) {
          await app.leads.update(holder.leadId, 'patch', { unsubscribed: true }).catch((err: unknown) => {
            if (!(err instanceof LeadNotFoundError)) throw err; // a claim left by a lead that is gone
          });
        }
        return { accepted: true as const, suppressed: fresh };
      } catch (err) {
        // Not processed: the provider's retry of this event must not be refused as a replay.
        verifier!.release(signature.token);
        throw err;
      }
    },
  );
};
