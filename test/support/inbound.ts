import { generateKeyPairSync } from 'node:crypto';
import { createTransport } from 'nodemailer';
import type { Zones } from './dns-server.js';

/**
 * What the inbound tests send and the DNS that judges it: sending domains whose SPF, DKIM
 * and DMARC records are made when the tests load (RSA keys generated at test time), and
 * nodemailer as the sending client, signing with those keys.
 *
 * - good.sender.example: SPF authorises 127.0.0.1, DKIM selector s1, DMARC p=reject;
 *   mail.good.sender.example is the HELO name (A 127.0.0.1, SPF "a").
 * - elsewhere.sender.example: SPF authorises only 192.0.2.1 (a failing SPF from loopback),
 *   DKIM s1 with the same key, DMARC p=quarantine.
 * - bank.example: DMARC p=reject and nothing else — a From that others forge.
 * - listed.example: on the fixture domain blocklist dbl.inbound.test.
 */
export const DKIM_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const DKIM_PRIVATE = DKIM_KEY.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DKIM_PUBLIC = DKIM_KEY.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const split = (text: string): string[] => text.match(/.{1,200}/g) ?? [];

export const INBOUND_DOMAIN = 'inbound.example.test';

export const INBOUND_ZONES: Zones = {
  'good.sender.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'], A: ['127.0.0.1'] },
  'mail.good.sender.example': { A: ['127.0.0.1'], TXT: ['v=spf1 a -all'] },
  's1._domainkey.good.sender.example': { TXT: [split(`v=DKIM1; k=rsa; p=${DKIM_PUBLIC}`)] },
  '_dmarc.good.sender.example': { TXT: ['v=DMARC1; p=reject; rua=mailto:dmarc@good.sender.example'] },
  'elsewhere.sender.example': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
  's1._domainkey.elsewhere.sender.example': { TXT: [split(`v=DKIM1; k=rsa; p=${DKIM_PUBLIC}`)] },
  '_dmarc.elsewhere.sender.example': { TXT: ['v=DMARC1; p=quarantine'] },
  '_dmarc.bank.example': { TXT: ['v=DMARC1; p=reject'] },
  'bank.example': { TXT: ['v=spf1 -all'] },
  'listed.example.dbl.inbound.test': { A: ['127.0.1.2'], TXT: ['listed for the test'] },
};

export interface SendOptions {
  port: number;
  to: string;
  from?: string;
  mailFrom?: string;
  helo?: string;
  subject?: string;
  text?: string;
  html?: string;
  /** Sign with DKIM as this domain (selector s1). */
  dkimDomain?: string;
  /** The header fields to sign, colon-separated (nodemailer's list by default). */
  dkimHeaders?: string;
  ignoreTLS?: boolean;
  headers?: Record<string, string>;
  /** Change the signed message before it is sent (e.g. break the body hash). */
  tamper?: (raw: string) => string;
}

/** Sends one message with nodemailer (STARTTLS unless ignoreTLS); resolves with the server's reply. */
export async function sendTestMessage(o: SendOptions): Promise<string> {
  const from = o.from ?? 'Alice <alice@good.sender.example>';
  const mail = {
    from,
    to: o.to,
    subject: o.subject ?? 'Inbound test',
    text: o.text ?? 'Hello from the sending side.',
    ...(o.html ? { html: o.html } : {}),
    ...(o.headers ? { headers: o.headers } : {}),
    envelope: { from: o.mailFrom ?? 'alice@good.sender.example', to: o.to },
  };
  const dkim = o.dkimDomain
    ? {
        dkim: {
          domainName: o.dkimDomain,
          keySelector: 's1',
          privateKey: DKIM_PRIVATE,
          ...(o.dkimHeaders ? { headerFieldNames: o.dkimHeaders } : {}),
        },
      }
    : {};
  const transport = createTransport({
    host: '127.0.0.1',
    port: o.port,
    name: o.helo ?? 'mail.good.sender.example',
    ignoreTLS: o.ignoreTLS ?? false,
    tls: { rejectUnauthorized: false },
    ...dkim,
  } as never);
  if (!o.tamper) {
    const info = await transport.sendMail(mail);
    return info.response;
  }
  // Build and sign the message first, change it, then send the changed bytes as they are.
  const builder = createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    ...dkim,
  } as never);
  const built = await builder.sendMail(mail);
  const raw = o.tamper((built.message as Buffer).toString('utf8'));
  const plain = createTransport({
    host: '127.0.0.1',
    port: o.port,
    name: o.helo ?? 'mail.good.sender.example',
    ignoreTLS: o.ignoreTLS ?? false,
    tls: { rejectUnauthorized: false },
  } as never);
  const info = await plain.sendMail({ envelope: mail.envelope, raw });
  return info.response;
}
