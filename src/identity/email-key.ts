import { createHmac } from 'node:crypto';
import { base32 } from '../domain/ids.js';

// An email address never appears in clear where Temporal indexes or names things (workflow
// ids, search attributes): it appears as its email key, a keyed HMAC of the normalized
// address. Without the secret a key cannot be tested against a guessed address, which a plain
// hash could (addresses are guessable). Secrets come from EMAIL_HASH_SECRETS, newest first:
// records are written under the first one and found under any of them, so a key can rotate
// (docs/personal-data.md).

/** The secret when EMAIL_HASH_SECRETS is unset: fine on a laptop, refused in production. */
export const DEV_EMAIL_HASH_SECRET = 'development-only-email-hash-secret';

/** 26 base32 characters: 130 bits of the HMAC-SHA256. */
export function emailKey(secret: string, normalizedEmail: string): string {
  return base32(createHmac('sha256', secret).update(`email:${normalizedEmail}`).digest(), 26);
}

export const EMAIL_KEY_PATTERN = /^[a-z2-7]{26}$/;

/** Computes email keys under the configured secrets. */
export class EmailKeys {
  readonly secrets: readonly string[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('EmailKeys needs at least one secret');
    this.secrets = secrets;
  }

  /** The key new records are written under. */
  current(normalizedEmail: string): string {
    return emailKey(this.secrets[0]!, normalizedEmail);
  }

  /** The key under every secret, current first: where existing records may be. */
  all(normalizedEmail: string): string[] {
    return this.secrets.map((s) => emailKey(s, normalizedEmail));
  }

  /** A keyed hash of any value (an idempotency record's body): same secret, other domain. */
  digest(value: string): string {
    return createHmac('sha256', this.secrets[0]!).update(`body:${value}`).digest('hex');
  }
}

/** The email keys of this deployment (EMAIL_HASH_SECRETS). */
export function emailKeysFromConfig(config: { EMAIL_HASH_SECRETS?: string | undefined }): EmailKeys {
  return new EmailKeys(emailHashSecretsOf(config.EMAIL_HASH_SECRETS));
}

/** EMAIL_HASH_SECRETS as a list (comma-separated, blanks ignored), or the development secret. */
export function emailHashSecretsOf(value: string | undefined): string[] {
  const list = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length > 0 ? list : [DEV_EMAIL_HASH_SECRET];
}
