import { readFile } from 'node:fs/promises';
import type { Config } from '../config/index.js';
import { selfSignedCertificate } from '../tls/self-signed.js';
import type { ReceiverOptions } from './receiver.js';

/**
 * The receiver's options from the configuration: where it listens, its limits, and its TLS
 * certificate — the configured one (MXDOCTOR_INBOUND_TLS_CERT/_KEY), else a self-signed one
 * made now for the inbound domain (development; the report says so).
 */
export type ReceiverSettings = Omit<ReceiverOptions, 'lookup' | 'deliver' | 'log'>;

export async function receiverSettings(config: Config): Promise<ReceiverSettings> {
  const inbound = config.inbound;
  if (!inbound.listen)
    throw new Error('the inbound receiver has no address to listen on (MXDOCTOR_INBOUND_LISTEN)');
  let tls: ReceiverOptions['tls'];
  if (inbound.tlsCertFile && inbound.tlsKeyFile) {
    const [certPem, keyPem] = await Promise.all([
      readFile(inbound.tlsCertFile, 'utf8'),
      readFile(inbound.tlsKeyFile, 'utf8'),
    ]);
    tls = { certPem, keyPem, kind: 'configured' };
  } else {
    const made = await selfSignedCertificate([inbound.domain]);
    tls = { certPem: made.certPem, keyPem: made.keyPem, kind: 'self-signed' };
  }
  return {
    listen: inbound.listen,
    domain: inbound.domain,
    tls,
    maxBytes: inbound.maxBytes,
    sessionDeadlineMs: inbound.sessionDeadlineMs,
    idleTimeoutMs: inbound.idleTimeoutMs,
    maxConnections: inbound.maxConnections,
    connectionsPerIp: inbound.connectionsPerIp,
    ratePerIp: inbound.ratePerIp,
  };
}
