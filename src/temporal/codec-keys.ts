// TEMPORAL_CODEC_KEYS: `<id>:<base64 key>,<id>:<base64 key>,...`. The first key encrypts new
// payloads; every listed key decrypts, so a key is rotated by putting a new one first and
// keeping the old ones listed until no history that uses them is still read.

export interface CodecKey {
  id: string;
  key: Buffer;
}

export interface CodecKeyRing {
  /** Encrypts every new payload. */
  current: CodecKey;
  /** Every key by id, the current one included: what decryption may use. */
  byId: ReadonlyMap<string, Buffer>;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const KEY_BYTES = 32;

/** The key ring, undefined when unset, or an Error saying what is wrong (never the key itself). */
export function parseCodecKeys(value: string | undefined): CodecKeyRing | undefined | Error {
  if (value === undefined || value.trim() === '') return undefined;
  const keys: CodecKey[] = [];
  for (const [index, entry] of value.split(',').map((e) => e.trim()).entries()) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    const encoded = colon < 0 ? '' : entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) return new Error(`entry ${index + 1} is not <id>:<base64 key> (id: letters, digits, . _ -)`);
    if (keys.some((k) => k.id === id)) return new Error(`key id ${id} is listed twice`);
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/_-]+=*$/.test(encoded)) {
      return new Error(`key ${id} is not ${KEY_BYTES} bytes in base64 (make one with: openssl rand -base64 32)`);
    }
    keys.push({ id, key });
  }
  return { current: keys[0]!, byId: new Map(keys.map((k) => [k.id, k.key])) };
}
