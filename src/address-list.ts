import { BlockList, isIP } from 'node:net';

// Comma-separated IP addresses and CIDR ranges, as TRUST_PROXY and TRACE_PARENT_FROM hold them.

/** The entries of a list, or an Error naming the first one that is no address or CIDR range. */
export function parseAddressList(raw: string): string[] | Error {
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || rest.length > 0) return new Error(`${entry} is not an IP address or CIDR range (like 10.0.0.0/8)`);
  }
  return entries;
}

/**
 * A matcher for a parsed list. IPv4 peers on a dual-stack socket arrive as ::ffff:a.b.c.d:
 * they are matched as the IPv4 address they are.
 */
export function addressMatcher(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return (address) => {
    if (address === undefined) return false;
    const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
    const plain = mapped ?? address;
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}
