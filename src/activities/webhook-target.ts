import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

// Where an automation webhook may go. A webhook URL is written by whoever edits the
// automation folder, and its request carries lead data: it must not be turned towards the
// machine, the cluster or the cloud's metadata service. Each host is resolved, and every
// address it resolves to is checked against the ranges below; the connection then goes to
// the checked addresses only (the check is the socket's own DNS lookup), so a name that
// resolves to a public address for the check and to 127.0.0.1 for the connection (DNS
// rebinding) gets nowhere. Hosts on the allow-list (in-cluster targets, the local
// simulator) skip the range check, nothing else.

/** Each refused range, under the rule that names it in the failure. */
const REFUSED_RANGES: Array<[rule: string, ranges: Array<[network: string, prefix: number]>]> = [
  ['unspecified', [['0.0.0.0', 8], ['::', 128]]],
  ['loopback', [['127.0.0.0', 8], ['::1', 128]]],
  ['private (RFC 1918)', [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16]]],
  ['unique local (fc00::/7)', [['fc00::', 7]]],
  ['link-local (cloud metadata lives here)', [['169.254.0.0', 16], ['fe80::', 10]]],
  ['carrier-grade NAT (100.64.0.0/10)', [['100.64.0.0', 10]]],
  ['multicast', [['224.0.0.0', 4], ['ff00::', 8]]],
  ['reserved or broadcast', [['240.0.0.0', 4]]],
];

const RULES = REFUSED_RANGES.map(([rule, ranges]) => {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, isIP(network) === 6 ? 'ipv6' : 'ipv4');
  return { rule, list };
});

/**
 * The rule that refuses this address, or undefined for an address on the public internet.
 * IPv4 written in IPv6 (`::ffff:127.0.0.1`, `::ffff:7f00:1`) is checked as the IPv4 it is.
 */
export function refusedBy(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 6 ? 'ipv6' : 'ipv4';
  return RULES.find(({ list }) => list.check(address, type))?.rule;
}

/** A webhook the range check refused: a permanent failure, never retried. */
export class WebhookRefusedError extends Error {
  override name = 'WebhookRefusedError';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly rule: string,
  ) {
    super(`${host} resolves to ${address}, which is ${rule}; add the host to WEBHOOK_ALLOWED_HOSTS if it is meant to be reached`);
  }
}

/** `hooks.internal` or `hooks.internal:8080` from WEBHOOK_ALLOWED_HOSTS; a bare host allows every port. */
export function parseAllowedHosts(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
}

/** Whether the URL's host (with or without its port) is on the allow-list. */
export function isAllowedHost(url: URL, allowed: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowed.includes(host) || allowed.includes(`${host}:${port}`);
}

/** `host:port` of a base URL, as an allow-list entry. */
export function allowListEntryOf(baseUrl: string): string {
  const url = new URL(baseUrl);
  return `${url.hostname.toLowerCase()}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

/** Resolves a host to every address it has (node:dns `lookup` with `all: true`, by default). */
export type ResolveHost = (host: string) => Promise<LookupAddress[]>;

export const resolveHost: ResolveHost = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/**
 * A socket `lookup` that resolves the host once, refuses it when any of its addresses is in
 * a refused range (unless `allowed`), and hands the socket exactly the addresses it checked.
 * Answers both ways the socket may ask: one address, or all (happy eyeballs).
 */
export function checkedLookup(resolve: ResolveHost, allowed: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        if (!allowed) {
          for (const { address } of addresses) {
            const rule = refusedBy(address);
            if (rule) return callback(new WebhookRefusedError(hostname, address, rule), '', 0);
          }
        }
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        const usable = wanted.length > 0 ? wanted : addresses;
        if (usable.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) return (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, usable);
        callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
