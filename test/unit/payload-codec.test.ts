import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  decodePayloadsInPlace,
  encryptionCodecFromConfig,
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  PayloadDecryptionError,
} from '../../src/temporal/payload-codec.js';

const key = () => randomBytes(32).toString('base64');
const codecOf = (keys: string) => encryptionCodecFromConfig({ TEMPORAL_CODEC_KEYS: keys }) as EncryptionCodec;
const lead = { email: 'ada.lovelace@example.com', first_name: 'Ada' };
const encodingOf = (p: Payload) => Buffer.from(p.metadata!.encoding!).toString();

describe('EncryptionCodec', () => {
  const k1 = `k1:${key()}`;
  const k0 = `k0:${key()}`;

  it('round-trips a payload, metadata included, and hides its content', async () => {
    const codec = codecOf(k1);
    const plain = defaultPayloadConverter.toPayload(lead);
    const [encrypted] = await codec.encode([plain]);
    expect(encodingOf(encrypted!)).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(encrypted!.metadata!['encryption-key-id']!).toString()).toBe('k1');
    expect(Buffer.from(encrypted!.data!).toString('latin1')).not.toContain('ada.lovelace');
    const [decoded] = await codec.decode([encrypted!]);
    expect(encodingOf(decoded!)).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(lead);
  });

  it('encrypts the same value differently each time (fresh IV)', async () => {
    const codec = codecOf(k1);
    const plain = defaultPayloadConverter.toPayload(lead);
    const [a, b] = await codec.encode([plain, plain]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('rotates: what the old key encrypted still decrypts after a new key is put first', async () => {
    const before = codecOf(k0);
    const [old] = await before.encode([defaultPayloadConverter.toPayload(lead)]);
    const after = codecOf(`${k1},${k0}`);
    expect(after.keyIds).toEqual(['k1', 'k0']);
    expect(defaultPayloadConverter.fromPayload((await after.decode([old!]))[0]!)).toEqual(lead);
    const [fresh] = await after.encode([defaultPayloadConverter.toPayload(lead)]);
    expect(Buffer.from(fresh!.metadata!['encryption-key-id']!).toString()).toBe('k1');
    // A ring that dropped k0 cannot read it, and says which key is missing.
    await expect(codecOf(k1).decode([old!])).rejects.toThrow(/key "k0", which TEMPORAL_CODEC_KEYS does not list/);
  });

  it('refuses a tampered payload, a swapped key id and a truncated one', async () => {
    const codec = codecOf(`${k1},${k0}`);
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(lead)]);
    const flipped = Buffer.from(encrypted!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await expect(codec.decode([{ ...encrypted!, data: flipped }])).rejects.toThrow(PayloadDecryptionError);
    const relabelled = { ...encrypted!, metadata: { ...encrypted!.metadata, 'encryption-key-id': new TextEncoder().encode('k0') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/failed authentication/);
    await expect(codec.decode([{ ...encrypted!, data: new Uint8Array(5) }])).rejects.toThrow(/too short/);
  });

  it('passes payloads without its encoding through undecoded (histories recorded before encryption)', async () => {
    const codec = codecOf(k1);
    const plain = defaultPayloadConverter.toPayload(lead);
    const binary = defaultPayloadConverter.toPayload(new Uint8Array([1, 2, 3]));
    const [a, b] = await codec.decode([plain, binary]);
    expect(a).toBe(plain);
    expect(b).toBe(binary);
  });

  it('is off without keys', () => {
    expect(encryptionCodecFromConfig({})).toBeUndefined();
  });
});

describe('decodePayloadsInPlace', () => {
  it('decrypts payloads anywhere in a raw response and leaves the others alone', async () => {
    const codec = codecOf(`k1:${key()}`);
    const [enc] = await codec.encode([defaultPayloadConverter.toPayload(lead)]);
    const plain = defaultPayloadConverter.toPayload('plain');
    const history = {
      events: [
        { workflowExecutionStartedEventAttributes: { input: { payloads: [enc] } } },
        { upsertWorkflowSearchAttributesEventAttributes: { searchAttributes: { indexedFields: { LeadStage: plain } } } },
      ],
    };
    await decodePayloadsInPlace([codec], history);
    const input = history.events[0]!.workflowExecutionStartedEventAttributes!.input.payloads[0]!;
    expect(defaultPayloadConverter.fromPayload(input)).toEqual(lead);
    expect(history.events[1]!.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes.indexedFields.LeadStage).toBe(plain);
  });

  it('does nothing without codecs', async () => {
    const root = { a: 1 };
    expect(await decodePayloadsInPlace([], root)).toBe(root);
  });
});

describe('failure attributes', () => {
  it('are restored from their decrypted attributes, as the SDK reads them', async () => {
    const codec = codecOf(`k1:${key()}`);
    const [attrs] = await codec.encode([defaultPayloadConverter.toPayload({ message: 'CRM answered 503: ada@example.com', stack_trace: 'at crm' })]);
    const event = { activityTaskFailedEventAttributes: { failure: { message: 'Encoded failure', stackTrace: '', encodedAttributes: attrs! } } };
    await decodePayloadsInPlace([codec], event);
    expect(event.activityTaskFailedEventAttributes.failure).toMatchObject({ message: 'CRM answered 503: ada@example.com', stackTrace: 'at crm' });
  });
});
