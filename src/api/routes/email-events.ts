import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EmailEventBody, suppressionReasonOf } from '../../email-events/event.js';
import { EmailEventVerifier, type VerifierOptions } from '../../email-events/signature.js';
import { EmailEventRefusedError, EmailEventsOffError } from '../errors.js';

export interface EmailEventsOptions {
  /** EMAIL_EVENTS_SECRET; unset = the intake is off and answers 503. */
  secret?: string | undefined;
  /** Window and token memory of the signature checks (tests shorten them). */
  verifier?: VerifierOptions;
}

const Accepted = z.object({ accepted: z.literal(true), suppressed: z.boolean() });

/**
 * Bounce and complaint events from the email provider (docs/email-events.md). Not under
 * /api: the signature in the body is the credential, as the token is for /unsubscribe.
 */
export const emailEventRoutes: FastifyPluginAsyncZod<EmailEventsOptions> = async (app, options) => {
  const { secret } = options;
  const verifier = secret ? new EmailEventVerifier(secret, options.verifier) : undefined;

  app.post(
    '/webhooks/email-events',
    {
      schema: { hide: true, body: EmailEventBody, response: { 200: Accepted } },
      // Public: the provider's signature is its credential.
      config: { access: 'public' },
      // Off is off whatever the body: checked before the body is validated.
      preValidation: async () => {
        if (!verifier) throw new EmailEventsOffError();
      },
    },
    async (request) => {
      const { signature, 'event-data': data } = request.body;
      const verdict = verifier!.check(signature);
      if (verdict !== 'valid') throw new EmailEventRefusedError(verdict);
      const reason = suppressionReasonOf(data);
      if (!reason) return { accepted: true as const, suppressed: false };
      try {
        const at = new Date(data.timestamp * 1000).toISOString();
        // Suppresses the address; the lead holding it is told (a consent change) unless it shows it already.
        const { fresh } = await app.leads.addressSuppressed(data.recipient, { reason, source: 'email_events', at });
        return { accepted: true as const, suppressed: fresh };
      } catch (err) {
        // Not processed: the provider's retry of this event must not be refused as a replay.
        verifier!.release(signature.token);
        throw err;
      }
    },
  );
};
