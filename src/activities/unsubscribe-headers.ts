import { unsubscribeUrl } from '../automations/unsubscribe.js';
import { permanentFailure } from './failures.js';

/** Where unsubscribe links point and the key that signs them (AutomationDeps carries both). */
export interface UnsubscribeSettings {
  unsubscribeBaseUrl: string;
  unsubscribeSecret: string;
}

export interface UnsubscribeLink {
  /** For the body of the email. */
  url: string;
  /** RFC 8058 one-click: mail clients show an unsubscribe button that POSTs to the link. */
  headers: { 'List-Unsubscribe': string; 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
}

/**
 * The lead's unsubscribe link and the headers that offer it, for every email we send (the
 * welcome email and the automations' alike). No settings is a wiring mistake, not a reason to
 * send an email without a way out, so it fails the send for good.
 */
export function unsubscribeLink(settings: UnsubscribeSettings | undefined, leadId: string): UnsubscribeLink {
  if (!settings) throw permanentFailure('UnsubscribeNotConfigured', 'this worker was built without the unsubscribe link settings');
  const url = unsubscribeUrl(settings.unsubscribeBaseUrl, settings.unsubscribeSecret, leadId);
  return { url, headers: { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } };
}
