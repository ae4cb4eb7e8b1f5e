import { directConnect } from './connect.js';
import type { SocketFactory } from './connect.js';
import { describeProxy, parseSocks5Url, socks5Connector } from './socks5.js';

/**
 * How SMTP-side connections (port 25, the TLS depth scan, the submission ports) leave this
 * host: directly, or through the SOCKS5 proxy of MXDOCTOR_SMTP_PROXY / --smtp-proxy. One
 * Egress per check run: it also remembers the addresses the proxy reported connecting from,
 * for the report's probe identity.
 */
export interface Egress {
  connect: SocketFactory;
  /** "socks5://host:port" (no credentials), when a proxy is used. */
  proxy?: string;
  /** Distinct addresses the proxy said it connected from (SOCKS5 BND.ADDR). */
  boundAddresses(): string[];
}

export function smtpEgress(proxyUrl: string | undefined): Egress {
  if (!proxyUrl) return { connect: directConnect, boundAddresses: () => [] };
  const proxy = parseSocks5Url(proxyUrl);
  const bound = new Set<string>();
  return {
    connect: socks5Connector(proxy, (b) => {
      if (b.address && b.address !== '0.0.0.0' && b.address !== '::' && b.address !== '0:0:0:0:0:0:0:0')
        bound.add(b.address);
    }),
    proxy: describeProxy(proxy),
    boundAddresses: () => [...bound],
  };
}
