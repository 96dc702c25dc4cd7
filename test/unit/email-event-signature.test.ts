import { describe, expect, it } from 'vitest';
import { EmailEventData, suppressionReasonOf } from '../../src/email-events/event.js';
import { EmailEventVerifier, signEmailEvent } from '../../src/email-events/signature.js';

const SECRET = 'email-events-test-secret';
const NOW = 1_800_000_000_000;
const seconds = (ms: number) => String(Math.floor(ms / 1000));

function signed(token: string, timestamp = seconds(NOW), secret = SECRET) {
  return { timestamp, token, signature: signEmailEvent(secret, timestamp, token) };
}

describe('email event signatures (Mailgun: hex HMAC-SHA256 of timestamp + token)', () => {
  it('matches the documented construction', async () => {
    const { createHmac } = await import('node:crypto');
    expect(signEmailEvent('key', '1770920772', 'tok')).toBe(createHmac('sha256', 'key').update('1770920772tok').digest('hex'));
  });

  it('accepts a good signature', () => {
    expect(new EmailEventVerifier(SECRET, { now: () => NOW }).check(signed('t1'))).toBe('valid');
  });

  it('refuses a bad signature: another key, another token, or not hex', () => {
    const verifier = new EmailEventVerifier(SECRET, { now: () => NOW });
    expect(verifier.check(signed('t1', seconds(NOW), 'another-key'))).toBe('invalid_signature');
    expect(verifier.check({ ...signed('t1'), token: 't2' })).toBe('invalid_signature');
    expect(verifier.check({ ...signed('t1'), signature: 'zz' })).toBe('invalid_signature');
    // Refused signatures claim no token: the real event is still accepted.
    expect(verifier.remembered).toBe(0);
    expect(verifier.check(signed('t1'))).toBe('valid');
  });

  it('refuses a stale timestamp, and one too far ahead, even when signed', () => {
    const verifier = new EmailEventVerifier(SECRET, { now: () => NOW });
    expect(verifier.check(signed('old', seconds(NOW - 5 * 60_000 - 1000)))).toBe('stale');
    expect(verifier.check(signed('ahead', seconds(NOW + 5 * 60_000 + 1000)))).toBe('stale');
    expect(verifier.check(signed('recent', seconds(NOW - 4 * 60_000)))).toBe('valid');
  });

  it('refuses a replayed token until the timestamp window has passed it, and accepts a released one', () => {
    let now = NOW;
    const verifier = new EmailEventVerifier(SECRET, { now: () => now });
    const event = signed('once');
    expect(verifier.check(event)).toBe('valid');
    expect(verifier.check(event)).toBe('replayed');
    verifier.release('once');
    expect(verifier.check(event)).toBe('valid');
    now += 5 * 60_000 + 1000;
    expect(verifier.check(event)).toBe('stale');
    expect(verifier.check(signed('later', seconds(now)))).toBe('valid');
    expect(verifier.remembered).toBe(1);
  });

  it('remembers a bounded number of tokens', () => {
    const verifier = new EmailEventVerifier(SECRET, { now: () => NOW, maxTokens: 3 });
    for (const token of ['a', 'b', 'c', 'd']) expect(verifier.check(signed(token))).toBe('valid');
    expect(verifier.remembered).toBe(3);
    expect(verifier.check(signed('d'))).toBe('replayed');
  });
});

describe('what an event does', () => {
  const data = (fields: Record<string, unknown>) => EmailEventData.parse({ recipient: ' Ada@Example.COM ', timestamp: 1_800_000_000.5, ...fields });

  it('suppresses on a permanent failure or a complaint, not on a temporary failure or another event', () => {
    expect(suppressionReasonOf(data({ event: 'failed', severity: 'permanent' }))).toBe('bounced');
    expect(suppressionReasonOf(data({ event: 'complained' }))).toBe('complained');
    expect(suppressionReasonOf(data({ event: 'failed', severity: 'temporary' }))).toBeNull();
    expect(suppressionReasonOf(data({ event: 'delivered' }))).toBeNull();
  });

  it('normalizes the recipient and wants the severity of a failure', () => {
    expect(data({ event: 'complained' }).recipient).toBe('ada@example.com');
    expect(EmailEventData.safeParse({ event: 'failed', recipient: 'ada@example.com', timestamp: 1 }).error?.issues[0]?.path).toEqual(['severity']);
  });
});
