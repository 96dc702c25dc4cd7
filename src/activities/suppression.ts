import { ApplicationFailure } from '@temporalio/activity';
import type { AddressBook } from '../identity/address-book.js';

/**
 * A mail server's permanent refusal (EmailRejected: an SMTP 5xx) suppresses the address, so
 * nothing mails it again by itself; the failure still reaches the caller.
 */
export async function suppressOnRejection(addresses: AddressBook | undefined, email: string, send: () => Promise<void>): Promise<void> {
  try {
    await send();
  } catch (err) {
    if (addresses && err instanceof ApplicationFailure && err.type === 'EmailRejected') {
      await addresses.suppress(email, { reason: 'rejected', source: 'smtp', at: new Date().toISOString() }).catch(() => undefined);
    }
    throw err;
  }
}
