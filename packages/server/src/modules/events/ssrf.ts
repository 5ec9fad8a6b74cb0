// Webhook targets are resolved once, checked, and connected to at the checked address:
// a name that resolves to a private address (or changes its answer between the check
// and the connection) cannot reach the inside of the network.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { promisify } from 'node:util';
import { AppError } from '../../http/errors.js';

const lookupAll = promisify(dnsLookup);

const refused = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  refused.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['64:ff9b::', 96], // NAT64 of IPv4 addresses
] as const) {
  refused.addSubnet(net, prefix, 'ipv6');
}

const MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const MAPPED_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

/** True for an address a webhook may not target: private, loopback, link-local, unspecified, multicast, or IPv4-mapped of those. */
export function isRefusedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return refused.check(address, 'ipv4');
  if (family !== 6) return true;
  const bare = address.replace(/^\[|\]$/g, '').split('%')[0]!;
  const dotted = MAPPED.exec(bare);
  if (dotted) return refused.check(dotted[1]!, 'ipv4');
  const hex = MAPPED_HEX.exec(bare);
  if (hex) {
    const hi = Number.parseInt(hex[1]!, 16);
    const lo = Number.parseInt(hex[2]!, 16);
    return refused.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
  }
  return refused.check(bare, 'ipv6');
}

export const targetRefused = (detail: string) =>
  new AppError('VALIDATION_FAILED', 'The webhook URL is not allowed', [{ path: '/body/url', message: detail }]);

export interface ResolvedTarget {
  address: string;
  family: 4 | 6;
}

/** Resolves the URL's host once; refuses it unless every address it has is allowed (or allowPrivate). */
export async function resolveTarget(url: URL, allowPrivate: boolean): Promise<ResolvedTarget> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: LookupAddress[];
  const literal = isIP(host);
  if (literal) addresses = [{ address: host, family: literal }];
  else {
    try {
      addresses = await lookupAll(host, { all: true, verbatim: true });
    } catch {
      throw targetRefused(`its host ${host} does not resolve`);
    }
  }
  if (addresses.length === 0) throw targetRefused(`its host ${host} does not resolve`);
  if (!allowPrivate) {
    const bad = addresses.find((a) => isRefusedAddress(a.address));
    if (bad) throw targetRefused(`its host resolves to ${bad.address}, a private, loopback or link-local address`);
  }
  const first = addresses[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A webhook URL's form: http or https, no credentials in it. */
export function parseWebhookUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw targetRefused('is not a URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw targetRefused('must start with https:// or http://');
  if (u.username || u.password) throw targetRefused('must not carry credentials');
  return u;
}
