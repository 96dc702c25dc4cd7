import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { parseCodecKeys, type CodecKeyRing } from './codec-keys.js';

// Payload encryption for Temporal: workflow inputs, signals, queries, updates, results,
// memos and activity payloads leave the API and the workers as AES-256-GCM ciphertext, so
// Temporal (its database, its Web UI, anyone reading a history) never holds lead data in
// clear text. Search attributes are not payloads the codec sees: see search-attributes.ts.
//
// An encrypted payload: metadata `encoding: binary/encrypted`, `encryption-key-id: <id>`,
// `encryption-cipher: AES256GCM`; data `iv (12) || ciphertext || tag (16)` of the whole
// original Payload message, metadata included. The key id is authenticated as well (AAD),
// so a payload cannot be moved under another key's id.

const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER = 'AES256GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/** A payload this codec cannot decrypt: unknown key id, damaged or tampered with. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

/** True when the payload is this codec's ciphertext. */
export function isEncryptedPayload(payload: Payload): boolean {
  return text(payload.metadata?.encoding) === ENCRYPTED_ENCODING;
}

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeyRing) {}

  /** Key ids this codec can decrypt, the current (encrypting) one first. */
  get keyIds(): string[] {
    return [this.keys.current.id, ...[...this.keys.byId.keys()].filter((id) => id !== this.keys.current.id)];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  /** Decrypts this codec's payloads; any other payload (recorded before encryption was on) passes through as it is. */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncryptedPayload(payload) ? this.decrypt(payload) : payload));
  }

  private encrypt(payload: Payload): Payload {
    const { id, key } = this.keys.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(utf8.encode(id));
    const plain = PayloadMessage.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: utf8.encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: utf8.encode(id),
        'encryption-cipher': utf8.encode(CIPHER),
      },
      data,
    };
  }

  private decrypt(payload: Payload): Payload {
    const id = text(payload.metadata?.[KEY_ID_METADATA]) ?? '';
    const key = this.keys.byId.get(id);
    if (!key) throw new PayloadDecryptionError(`payload encrypted with key "${id}", which TEMPORAL_CODEC_KEYS does not list`);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload is too short');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(utf8.encode(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(`encrypted payload (key "${id}") failed authentication: damaged or tampered with`);
    }
    const decoded = PayloadMessage.decode(plain);
    return { metadata: decoded.metadata, data: decoded.data };
  }
}

/** The codec for TEMPORAL_CODEC_KEYS, or undefined when encryption is off. Throws on a bad value (loadConfig has reported it). */
export function encryptionCodecFromConfig(config: { TEMPORAL_CODEC_KEYS?: string | undefined }): EncryptionCodec | undefined {
  const keys = parseCodecKeys(config.TEMPORAL_CODEC_KEYS);
  if (keys instanceof Error) throw keys;
  return keys && new EncryptionCodec(keys);
}

// The compiled module next to this one, or its TypeScript source where tests run from source.
const FAILURE_CONVERTER_JS = fileURLToPath(new URL('./failure-converter.js', import.meta.url));
const FAILURE_CONVERTER_PATH = existsSync(FAILURE_CONVERTER_JS) ? FAILURE_CONVERTER_JS : FAILURE_CONVERTER_JS.replace(/\.js$/, '.ts');

/** The data converter of a client or worker, given the codec (encryption off without one). */
export function dataConverterWith(codec: PayloadCodec | undefined): DataConverter {
  // With encryption, failure messages and stack traces go into encrypted payloads too.
  return codec ? { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH } : {};
}

/** The data converter of every client and worker: the default one, plus encryption when keys are configured. */
export function dataConverterFromConfig(config: { TEMPORAL_CODEC_KEYS?: string | undefined }): DataConverter {
  return dataConverterWith(encryptionCodecFromConfig(config));
}

/**
 * Decrypts, in place, every encrypted payload anywhere in a raw Temporal response (a history
 * page, a describe, a visibility page), for code that reads those with the default payload
 * converter, and puts back the message and stack trace of failures whose attributes were
 * encrypted (failure-converter.ts). Payloads of other encodings are left as they are;
 * without codecs, nothing is done.
 */
export async function decodePayloadsInPlace<T>(codecs: readonly PayloadCodec[], root: T): Promise<T> {
  if (codecs.length === 0) return root;
  const found: Payload[] = [];
  const failures: EncodedFailure[] = [];
  const seen = new Set<object>();
  const walk = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    const record = value as Record<string, unknown>;
    if (record.encodedAttributes && typeof record.encodedAttributes === 'object') failures.push(record as unknown as EncodedFailure);
    if (record.metadata && typeof record.metadata === 'object' && isEncryptedPayload(record as Payload)) {
      found.push(record as Payload);
      return;
    }
    for (const key of Object.keys(record)) walk(record[key]);
  };
  walk(root);
  if (found.length === 0) return root;
  let decoded: Payload[] = found;
  for (const codec of [...codecs].reverse()) decoded = await codec.decode(decoded);
  found.forEach((payload, i) => {
    payload.metadata = decoded[i]!.metadata;
    payload.data = decoded[i]!.data;
  });
  for (const failure of failures) restoreFailureAttributes(failure);
  return root;
}

interface EncodedFailure {
  message?: string | null;
  stackTrace?: string | null;
  encodedAttributes: Payload;
}

/** What the SDK's failure converter does on reading: message and stack trace from the decoded attributes. */
function restoreFailureAttributes(failure: EncodedFailure): void {
  if (isEncryptedPayload(failure.encodedAttributes)) return;
  try {
    const attrs = defaultPayloadConverter.fromPayload<{ message?: unknown; stack_trace?: unknown }>(failure.encodedAttributes);
    if (typeof attrs?.message === 'string') failure.message = attrs.message;
    if (typeof attrs?.stack_trace === 'string') failure.stackTrace = attrs.stack_trace;
  } catch {
    // Not the SDK's attribute shape: leave the failure as it is.
  }
}
