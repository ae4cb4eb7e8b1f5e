import { z } from 'zod';
import { defineCheck } from '../../checks/descriptors.js';
import { smtpEgress } from '../../net/egress.js';
import type { Finding, MxSet } from '../../report/model.js';
import { DEEP_TLS_FINDINGS, evaluateDeepTls } from './evaluate.js';
import { DeepTlsScanSchema } from './model.js';
import type { DeepTlsScan } from './model.js';
import { scanAddress } from './scan.js';

/**
 * The TLS depth check (`--tls deep`): every MX address the SMTP probe would test (same host
 * and address caps), scanned over STARTTLS for cipher suites per protocol version, cipher
 * preference, key exchange, its signature hash, renegotiation and OCSP stapling. One
 * handshake at a time per address, at most smtp.deepTlsMaxHandshakes per address, after the
 * SMTP probe has finished; two different addresses are scanned side by side. Off unless asked for: the light TLS findings of the
 * SMTP check stay the default.
 */

export const DeepTlsDataSchema = z.object({
  cap: z.number().int().describe('Most handshakes per address (MXDOCTOR_TLS_DEEP_HANDSHAKES)'),
  proxy: z.string().optional().describe('The SOCKS5 egress proxy the scan went through'),
  scans: z.array(DeepTlsScanSchema),
});
export type DeepTlsData = z.infer<typeof DeepTlsDataSchema>;

/** Addresses scanned side by side (each address still sees one handshake at a time). */
const PARALLEL_ADDRESSES = 2;

export function deepTlsTargets(
  mx: MxSet | undefined,
  maxHosts: number,
  maxAddressesPerHost: number,
): { host: string; address: string }[] {
  const seen = new Set<string>();
  const out: { host: string; address: string }[] = [];
  for (const h of (mx?.hosts ?? []).filter((x) => !x.ipLiteral).slice(0, maxHosts)) {
    for (const a of h.addresses.slice(0, maxAddressesPerHost)) {
      if (seen.has(a.address)) continue;
      seen.add(a.address);
      out.push({ host: h.name, address: a.address });
    }
  }
  return out;
}

declare module '../../checks/types.js' {
  interface CheckData {
    tls_deep: DeepTlsData;
  }
}

export const deepTlsCheck = defineCheck('tls_deep', {
  // After the SMTP probe, not beside it: its sessions and the scan's handshakes to one
  // address never overlap (one connection at a time from this check).
  findings: DEEP_TLS_FINDINGS.specs,
  dataSchema: DeepTlsDataSchema,
  async run(ctx) {
    const s = ctx.config.smtp;
    const targets = deepTlsTargets(ctx.upstream('mx'), s.maxHosts, s.maxAddressesPerHost);
    const egress = smtpEgress(s.proxy);
    const limiter = ctx.services.smtp?.addressLimiter;
    const scans: DeepTlsScan[] = new Array(targets.length);
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (next < targets.length) {
        const i = next++;
        const t = targets[i]!;
        ctx.progress(`TLS depth scan of ${t.host} [${t.address}]`, done / targets.length, {
          index: i + 1,
          total: targets.length,
        });
        scans[i] = await scanAddress({
          target: { host: t.host, address: t.address, port: s.port, heloName: ctx.config.probe.ehloName },
          timeouts: {
            connectMs: s.connectTimeoutMs,
            bannerMs: s.bannerTimeoutMs,
            commandMs: s.commandTimeoutMs,
            tlsMs: s.tlsTimeoutMs,
          },
          maxHandshakes: s.deepTlsMaxHandshakes,
          allowPrivate: ctx.config.net.allowPrivate,
          signal: ctx.signal,
          connect: egress.connect,
          ...(limiter ? { acquire: (address, signal) => limiter.acquire(address, signal) } : {}),
        });
        done++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_ADDRESSES, targets.length) }, worker));
    const findings: Finding[] = scans.flatMap(evaluateDeepTls);
    if (targets.length === 0)
      findings.push(
        DEEP_TLS_FINDINGS.make('tls.ciphers', 'info', {
          summary: 'No TLS depth scan: no MX host has an address to connect to.',
        }),
      );
    const data: DeepTlsData = { cap: s.deepTlsMaxHandshakes, scans };
    if (egress.proxy) data.proxy = egress.proxy;
    return { findings, data };
  },
});
