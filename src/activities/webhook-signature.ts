import { createHmac } from 'node:crypto';

// Outgoing webhooks are signed the Standard Webhooks way (standardwebhooks.com), so a
// receiver can verify them with any of that scheme's libraries: an HMAC-SHA256 over
// `<id>.<timestamp>.<body>`, keyed with the secret. The secret is written as those
// libraries expect it, `whsec_<base64>` (the prefix optional): its key is the decoded bytes.

const SECRET_PREFIX = 'whsec_';

/** The key bytes of a `whsec_<base64>` secret, or undefined when it is no base64 of at least 16 bytes. */
export function webhookSecretKey(secret: string): Buffer | undefined {
  const text = secret.trim().startsWith(SECRET_PREFIX) ? secret.trim().slice(SECRET_PREFIX.length) : secret.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const key = Buffer.from(text, 'base64');
  return key.length >= 16 ? key : undefined;
}

/** The three headers of a signed delivery. `id` stays the same across retries of one delivery. */
export function signWebhook(key: Buffer, id: string, timestampSeconds: number, body: string): Record<string, string> {
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${signature}`,
  };
}
