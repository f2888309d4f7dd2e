/**
 * The client address the per-address limits count: the TCP peer, or (with
 * `limits.proxy`) the entry a trusted proxy wrote in its header. IPv6
 * addresses are reduced to their network (`ipv6Prefix`, /64 by default),
 * since one client usually holds a whole /64; IPv4-mapped IPv6 addresses
 * count as the IPv4 address.
 *
 * Header rule: each proxy appends the address it received the request from,
 * so with `hops` proxies of our own the client is the `hops`-th entry from
 * the right; entries further left were written by the client and are never
 * read. Only the header's last `MAX_SCAN` characters are looked at, each
 * entry is at most `MAX_ENTRY` characters and must be an IP address
 * (optionally with a port); anything else falls back to the TCP peer.
 */
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

const MAX_SCAN = 1024;
const MAX_ENTRY = 64;

export interface AddressRule {
  proxyHeader: string | null;
  proxyHops: number;
  ipv6Prefix: number;
}

export function clientAddress(req: IncomingMessage, rule: AddressRule): string {
  const peer = req.socket?.remoteAddress ?? "";
  if (rule.proxyHeader !== null) {
    const raw = req.headers[rule.proxyHeader];
    const value = typeof raw === "string" ? raw : Array.isArray(raw) ? raw.join(",") : undefined;
    if (value !== undefined) {
      const fromHeader = headerEntry(value, rule.proxyHops);
      if (fromHeader !== null) return normalize(fromHeader, rule.ipv6Prefix);
    }
  }
  return normalize(peer, rule.ipv6Prefix);
}

/** The `hops`-th comma-separated entry from the right (the leftmost if there are fewer), as an IP, or null. */
export function headerEntry(value: string, hops: number): string | null {
  const start = Math.max(0, value.length - MAX_SCAN);
  let end = value.length;
  let begin = 0;
  for (let i = 1; ; i++) {
    const comma = end === 0 ? -1 : value.lastIndexOf(",", end - 1);
    begin = comma + 1;
    if (comma === -1 || i === hops) break;
    end = comma;
    if (end < start) return null;
  }
  if (begin < start || end - begin > MAX_ENTRY + 16) return null;
  const entry = value.slice(begin, end).trim();
  if (entry === "" || entry.length > MAX_ENTRY) return null;
  return stripPort(entry);
}

/** "1.2.3.4:80" -> "1.2.3.4", "[::1]:80" -> "::1"; null when it is not an IP address. */
function stripPort(entry: string): string | null {
  if (isIP(entry) !== 0) return entry;
  if (entry.charCodeAt(0) === 0x5b /* [ */) {
    const close = entry.indexOf("]");
    const inner = close === -1 ? "" : entry.slice(1, close);
    return isIP(inner) === 6 ? inner : null;
  }
  const colon = entry.indexOf(":");
  if (colon !== -1 && colon === entry.lastIndexOf(":")) {
    const host = entry.slice(0, colon);
    return isIP(host) === 4 ? host : null;
  }
  return null;
}

/** The key counted: an IPv4 address, or an IPv6 network "a:b:c:d::/64". */
export function normalize(address: string, ipv6Prefix: number): string {
  if (address.startsWith("::ffff:") && isIP(address.slice(7)) === 4) return address.slice(7);
  if (ipv6Prefix >= 128 || isIP(address) !== 6) return address;
  const groups = ipv6Groups(address);
  if (groups === null) return address;
  const kept = Math.ceil(ipv6Prefix / 16);
  const out: string[] = [];
  for (let i = 0; i < kept; i++) {
    const bits = Math.min(16, ipv6Prefix - i * 16);
    out.push(((groups[i] & (0xffff << (16 - bits))) & 0xffff).toString(16));
  }
  return `${out.join(":")}::/${ipv6Prefix}`;
}

/** The eight 16-bit groups of a valid IPv6 address (zone dropped, embedded IPv4 included). */
function ipv6Groups(address: string): number[] | null {
  let a = address;
  const zone = a.indexOf("%");
  if (zone !== -1) a = a.slice(0, zone);
  const lastColon = a.lastIndexOf(":");
  const last = a.slice(lastColon + 1);
  if (last.includes(".")) {
    const p = last.split(".").map(Number);
    a = a.slice(0, lastColon + 1) + ((p[0] << 8) | p[1]).toString(16) + ":" + ((p[2] << 8) | p[3]).toString(16);
  }
  const halves = a.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1].split(":")) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...head, ...new Array(fill).fill("0"), ...tail].map((g) => parseInt(g, 16));
  return groups.some((g) => !(g >= 0 && g <= 0xffff)) ? null : groups;
}
