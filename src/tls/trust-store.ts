import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { SecureContext } from 'node:tls';
import type { Config } from '../config/index.js';
import { contextTrusting } from '../net/trust-context.js';
import { pemBlocks } from './pem.js';

/**
 * The certificates mxdoctor trusts when it judges a server's chain (SMTP STARTTLS, the
 * MTA-STS policy host): Node's bundled Mozilla roots, plus NODE_EXTRA_CA_CERTS, plus the
 * operator's --ca-file / MXDOCTOR_CA_FILE. Passing `ca` to tls.connect replaces Node's
 * default store (and with it NODE_EXTRA_CA_CERTS), so the three are assembled here once.
 */
export interface TrustStore {
  /** PEM certificates, for tls.connect({ ca }). */
  pems: string[];
  /** Where they came from, for reports: "node roots (146)", "NODE_EXTRA_CA_CERTS (1)", … */
  sources: string[];
}

export function readPemFile(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const blocks = pemBlocks(text);
  if (blocks.length === 0) throw new Error(`${path} contains no PEM certificate`);
  return blocks;
}

let cache: { key: string; store: TrustStore } | undefined;

export function loadTrustStore(config: Pick<Config, 'tls'>): TrustStore {
  const extra = config.tls.extraCaCertsFile;
  const file = config.tls.caFile;
  const key = `${extra ?? ''}|${file ?? ''}`;
  if (cache?.key === key) return cache.store;
  const pems = [...rootCertificates];
  const sources = [`Node.js bundled roots (${rootCertificates.length})`];
  if (extra) {
    // Node itself only warns when NODE_EXTRA_CA_CERTS cannot be read; do the same.
    try {
      const blocks = readPemFile(extra);
      pems.push(...blocks);
      sources.push(`NODE_EXTRA_CA_CERTS ${extra} (${blocks.length})`);
    } catch {
      sources.push(`NODE_EXTRA_CA_CERTS ${extra} (unreadable, ignored)`);
    }
  }
  if (file) {
    const blocks = readPemFile(file);
    pems.push(...blocks);
    sources.push(`${file} (${blocks.length})`);
  }
  const store = { pems, sources };
  cache = { key, store };
  return store;
}

/**
 * A TLS context trusting exactly the store's certificates, for tls.connect({ secureContext }),
 * made once per store and process: Node's default context plus the store's own additions
 * when that is the same trust, which saves parsing every root again with `ca: pems`
 * (net/trust-context.ts says when and how much).
 */
export function trustContext(store: TrustStore): SecureContext {
  return contextTrusting(store.pems);
}
