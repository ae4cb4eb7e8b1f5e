import { isIPv4, isIPv6 } from 'node:net';

/**
 * What net.isIP answers (4, 6, or 0 for anything else), without asking its IPv6 expression
 * about text that has no colon: Node compiles that large expression the first time it runs
 * (~4 ms, more on a slow machine), and what a command asks about first is a domain, a host
 * name or an IPv4 address. `mxdoctor check` asked it of the domain and the resolver before
 * its first DNS query, and of every MX host name after it.
 */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (text.includes(':')) return isIPv6(text) ? 6 : 0;
  return isIPv4(text) ? 4 : 0;
}
