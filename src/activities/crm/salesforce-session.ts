import { transientFailure } from '../failures.js';

/**
 * An access token from the OAuth 2.0 client-credentials flow, fetched when first needed and
 * kept until Salesforce refuses it. `renew(stale)` drops the token a request found dead and
 * fetches one new token however many requests found it dead at once. The token call is not
 * an API request: it does not pass the request gate.
 */

export interface SalesforceSession {
  accessToken: string;
  /** Where the org's API lives; may differ from the login URL. */
  instanceUrl: string;
}

export interface SessionOptions {
  instanceUrl: string;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
  fetch: typeof fetch;
}

export class SalesforceSessions {
  private current: Promise<SalesforceSession> | undefined;
  /** What `current` resolved to; checked synchronously so two renewals of one stale token cannot both fetch. */
  private currentSession: SalesforceSession | undefined;

  constructor(private readonly options: SessionOptions) {}

  get(): Promise<SalesforceSession> {
    if (!this.current) {
      const fetching = this.fetchToken();
      this.current = fetching;
      void fetching.then(
        (session) => {
          if (this.current === fetching) this.currentSession = session;
        },
        // A failed fetch is not kept: the next request asks again.
        () => {
          if (this.current === fetching) this.current = undefined;
        },
      );
    }
    return this.current;
  }

  /** A new session in place of `stale`, unless another request already replaced it. */
  renew(stale: SalesforceSession): Promise<SalesforceSession> {
    if (this.currentSession === stale) {
      this.current = undefined;
      this.currentSession = undefined;
    }
    return this.get();
  }

  private async fetchToken(): Promise<SalesforceSession> {
    const { instanceUrl, clientId, clientSecret, timeoutMs } = this.options;
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    let response: Response;
    try {
      response = await this.options.fetch(`${instanceUrl}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw transientFailure('CrmUnavailable', `Salesforce token call failed: ${(err as Error).message}`);
    }
    const text = await response.text();
    const body = safeJson(text) as { access_token?: unknown; instance_url?: unknown; error?: unknown } | undefined;
    if (response.ok && typeof body?.access_token === 'string') {
      const url = typeof body.instance_url === 'string' && body.instance_url ? body.instance_url : instanceUrl;
      return { accessToken: body.access_token, instanceUrl: url.replace(/\/+$/, '') };
    }
    const summary = `Salesforce token call answered ${response.status}: ${text.slice(0, 200)}`;
    // Refused credentials or a disabled connected app are the operator's to fix, for every
    // lead at once: transient, so the leads back off and land once it is fixed, instead of
    // each becoming a dead letter that needs a re-drive.
    throw transientFailure('CrmUnavailable', summary);
  }
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
