import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { SecureContext } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TestCert } from './forge-certs.js';

/**
 * An HTTPS server on 127.0.0.1 standing in for many mta-sts.<domain> web servers at once:
 * the certificate is chosen by SNI and the response by host name, so each fixture domain
 * models one real-world case (good policy, redirect, wrong type, oversized, expired
 * certificate, silence…). Records the requests it saw.
 */
export interface PolicySite {
  cert: TestCert;
  /** Writes the response; may never end it (to test timeouts). */
  respond: (req: IncomingMessage, res: ServerResponse) => void;
}

export class PolicyServer {
  port = 0;
  readonly requests: { host: string; path: string; servername: string }[] = [];
  private server: Server | undefined;
  private readonly contexts = new Map<string, SecureContext>();
  private readonly open = new Set<ServerResponse>();

  constructor(
    private readonly sites: Record<string, PolicySite>,
    private readonly fallback: TestCert,
  ) {
    for (const [name, site] of Object.entries(sites)) {
      this.contexts.set(name, createSecureContext({ cert: site.cert.certPem, key: site.cert.keyPem }));
    }
  }

  async start(): Promise<this> {
    this.server = createServer(
      {
        cert: this.fallback.certPem,
        key: this.fallback.keyPem,
        SNICallback: (servername, cb) => cb(null, this.contexts.get(servername.toLowerCase())),
      },
      (req, res) => {
        const host = String(req.headers.host ?? '')
          .replace(/:\d+$/, '')
          .toLowerCase();
        const servername = (req.socket as unknown as { servername?: string }).servername ?? '';
        this.requests.push({ host, path: req.url ?? '', servername });
        const site = this.sites[host];
        if (!site) {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such site\n');
          return;
        }
        this.open.add(res);
        res.on('close', () => this.open.delete(res));
        site.respond(req, res);
      },
    );
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
