import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { CrmChangeEvent, CrmChangeOutcome } from '../../crm-inbound/changes.js';
import type { HubSpotLeadIds } from '../../crm-inbound/hubspot-contacts.js';
import { parseHubSpotEvents, verifyHubSpotSignatureV3 } from '../../crm-inbound/hubspot-webhook.js';
import { parseSalesforceChanges, SIGNATURE_HEADER, verifySignedWebhook } from '../../crm-inbound/signed-webhook.js';
import { hubSpotChanges, isOwnWrite, salesforceChanges } from '../../crm-inbound/vendor-fields.js';
import { CrmWebhookBodyError, CrmWebhookOffError, CrmWebhookRefusedError } from '../errors.js';

export interface CrmWebhookOptions {
  hubspot?: {
    /** HUBSPOT_CLIENT_SECRET; unset = the intake is off (503). */
    clientSecret: string | undefined;
    /** HUBSPOT_WEBHOOK_URL: the URL HubSpot signs; unset = the URL the request arrived at. */
    url: string | undefined;
    /** The lead ids of HubSpot contact ids (a batch read); unset with the intake off. */
    leadIds: HubSpotLeadIds | undefined;
    /** HUBSPOT_PROPERTY_MAP: custom lead field → HubSpot property. */
    customMap: Record<string, string>;
  };
  /** CRM_WEBHOOK_SECRETS (newest first) and SALESFORCE_FIELD_MAP; no secret = the intake is off. */
  signed?: { secrets: string[]; customMap: Record<string, string> };
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
  }
}

/**
 * Changes made in the CRM (docs/crm.md): HubSpot's webhooks (v3 signature, 5-minute age limit)
 * and the signed change notices of a Salesforce Flow. A verified delivery becomes a `crm` change
 * of each lead it names, applied in the CRM's order and never written back. Answered 200 once
 * every change is handed to its lead; a failure answers 5xx and the CRM delivers it again (each
 * change's task id comes from the CRM's event id, so a redelivery is applied once).
 * Not under /api: the signature is the credential.
 */
export const crmWebhookRoutes: FastifyPluginAsync<CrmWebhookOptions> = async (app, options) => {
  keepRawBody(app);
  const hubspot = options.hubspot;
  const signed = options.signed;

  app.post('/webhooks/hubspot', { schema: { hide: true }, config: { access: 'public' } }, async (request) => {
    if (!hubspot?.clientSecret || !hubspot.leadIds) throw new CrmWebhookOffError('HUBSPOT_CLIENT_SECRET');
    const verdict = verifyHubSpotSignatureV3({
      method: request.method,
      uri: hubspot.url ?? `${request.protocol}://${request.host}${request.url}`,
      body: request.rawBody ?? '',
      timestamp: header(request, 'x-hubspot-request-timestamp'),
      signature: header(request, 'x-hubspot-signature-v3'),
      clientSecret: hubspot.clientSecret,
      now: Date.now(),
    });
    if (!verdict.ok) throw new CrmWebhookRefusedError(verdict.reason);
    const parsed = parseHubSpotEvents(request.body);
    if (!parsed.ok) throw new CrmWebhookBodyError(parsed.reason);
    const theirs = parsed.events.filter((e) => !isOwnWrite(e));
    const leadIds = theirs.length > 0 ? await hubspot.leadIds(theirs.map((e) => e.objectId)) : new Map<number, string>();
    return answer(await app.leads.fromCrm(hubSpotChanges(theirs, leadIds, hubspot.customMap)), parsed.events.length);
  });

  app.post('/webhooks/crm', { schema: { hide: true }, config: { access: 'public' } }, async (request) => {
    if (!signed || signed.secrets.length === 0) throw new CrmWebhookOffError('CRM_WEBHOOK_SECRETS');
    const verdict = verifySignedWebhook({ header: header(request, SIGNATURE_HEADER), body: request.rawBody ?? '', secret: signed.secrets });
    if (!verdict.ok) throw new CrmWebhookRefusedError(verdict.reason);
    const parsed = parseSalesforceChanges(request.body);
    if (!parsed.ok) throw new CrmWebhookBodyError(parsed.reason);
    const changes: CrmChangeEvent[] = salesforceChanges(parsed.events, signed.customMap);
    return answer(await app.leads.fromCrm(changes), parsed.events.length);
  });
};

function answer(outcome: CrmChangeOutcome, received: number) {
  return { received, ...outcome };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The signatures cover the body as sent: these routes keep it next to the parsed JSON. */
function keepRawBody(app: FastifyInstance): void {
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch {
      done(new CrmWebhookBodyError('not JSON'), undefined);
    }
  });
}
