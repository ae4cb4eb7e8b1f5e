import { z } from 'zod';
import { defineFindings, list } from '../checks/findings.js';
import type { Resolver } from '../dns/types.js';
import { classifyAddress } from '../net/address-guard.js';
import { ipFamily } from '../net/ip-family.js';
import { ReverseDnsSchema, reverseDns } from '../ptr/check.js';
import type { Finding } from '../report/model.js';
import type { ConnectionFacts } from './model.js';

/**
 * The connection a message came over, as a receiver judges it: the sending IP's reverse DNS
 * and its forward confirmation, the HELO/EHLO name and whether it resolves to that IP, TLS
 * (version, cipher, a plain-text delivery although STARTTLS was offered), a client
 * certificate, pipelining misuse and early talking. Facts from the receiver plus a few DNS
 * lookups (gather), findings from pure functions (evaluate).
 */
export const CONNECTION = defineFindings('inbound', {
  'inbound.connection.ptr': {
    title: 'Reverse DNS of the sending IP',
    statuses: ['pass', 'warn', 'fail', 'info', 'error'],
    meaning:
      'The sending IP has a PTR record whose name resolves back to it (forward-confirmed reverse DNS); Gmail, Microsoft and Yahoo refuse or junk mail from IPs without one.',
  },
  'inbound.connection.helo': {
    title: 'HELO/EHLO name',
    statuses: ['pass', 'warn', 'fail', 'error'],
    meaning:
      'The client greets with a fully qualified host name (or an address literal) that resolves to its IP (RFC 5321 §4.1.1.1, §2.3.5).',
  },
  'inbound.connection.tls': {
    title: 'TLS in transit',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'The sender used STARTTLS, which the receiver offered, with TLS 1.2 or 1.3 (RFC 8996 deprecates 1.0 and 1.1); delivering in plain text when TLS is offered exposes the message.',
  },
  'inbound.connection.cipher': {
    title: 'TLS cipher',
    statuses: ['pass', 'warn'],
    meaning:
      'The cipher suite gives forward secrecy and an AEAD cipher (no RSA key exchange, RC4, 3DES or CBC).',
  },
  'inbound.connection.client_certificate': {
    title: 'Client certificate',
    statuses: ['info', 'warn'],
    meaning: 'The certificate the sending server presented in the TLS handshake, if any (optional for SMTP).',
  },
  'inbound.connection.pipelining': {
    title: 'Command pipelining',
    statuses: ['pass', 'fail'],
    meaning:
      'The client waits for the replies RFC 2920 §3.1 and RFC 3207 §4 say it must (after EHLO, DATA, STARTTLS, QUIT…); filters such as Postfix postscreen refuse clients that do not.',
  },
  'inbound.connection.early_talk': {
    title: 'Talking before the greeting',
    statuses: ['pass', 'fail'],
    meaning:
      'The client waits for the 220 greeting before sending (RFC 5321 §3.1); Exim, Sendmail (greet_pause) and postscreen refuse clients that talk first.',
  },
  'inbound.receiver.certificate': {
    title: 'Receiver certificate',
    statuses: ['info'],
    meaning:
      'Whether the test receiver offered a configured certificate or a self-signed one generated at start (development), which senders that verify certificates refuse.',
  },
});

export const ConnectionDnsSchema = z.object({
  ptr: ReverseDnsSchema.optional().describe('Reverse DNS of the sending IP (absent for a non-public IP)'),
  helo: z
    .object({ name: z.string(), rcode: z.string(), addresses: z.array(z.string()) })
    .optional()
    .describe('Addresses of the HELO name'),
});
export type ConnectionDns = z.infer<typeof ConnectionDnsSchema>;

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/i;
/** Reverse names of dynamic or unnamed pools: the IP's digits, or words ISPs use for them. */
const GENERIC_PTR =
  /(\d{1,3}[-.]\d{1,3}[-.]\d{1,3}[-.]\d{1,3})|\b(dyn|dynamic|dhcp|pool|ppp|dsl|adsl|cable|dial|client|broadband)\b/i;

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The DNS facts about the connection: PTR (for a public IP) and the HELO name's addresses. */
export async function gatherConnectionDns(
  resolver: Resolver,
  c: ConnectionFacts,
  signal: AbortSignal,
): Promise<ConnectionDns> {
  const out: ConnectionDns = {};
  const ip = c.remoteAddress;
  const family = ipFamily(ip);
  const tasks: Promise<void>[] = [];
  if (family !== 0 && classifyAddress(ip).category === 'public') {
    tasks.push(reverseDns(resolver, ip, { signal }).then((r) => void (out.ptr = r)));
  }
  const name = c.helo?.name.toLowerCase().replace(/\.$/, '');
  if (name && HOSTNAME.test(name)) {
    tasks.push(
      resolver.query(name, family === 6 ? 'AAAA' : 'A', { signal }).then((a) => {
        out.helo = { name, rcode: a.rcode, addresses: a.records.map((r) => r.address).slice(0, 20) };
      }),
    );
  }
  await Promise.all(tasks);
  return out;
}

function ptrFinding(c: ConnectionFacts, dns: ConnectionDns): Finding {
  const ip = c.remoteAddress;
  const subject = { address: ip };
  const cls = classifyAddress(ip);
  if (cls.category !== 'public') {
    return CONNECTION.make('inbound.connection.ptr', 'info', {
      summary: `The message came from ${ip}, a ${cls.description}: reverse DNS is not judged (a test from inside a network).`,
      details: { category: cls.category },
      subject,
    });
  }
  const ptr = dns.ptr;
  if (!ptr) {
    return CONNECTION.make('inbound.connection.ptr', 'error', {
      summary: `The reverse DNS of ${ip} could not be looked up.`,
      details: {},
      subject,
    });
  }
  const details = {
    reverseName: ptr.reverseName,
    rcode: ptr.rcode,
    names: ptr.names,
    confirmed: ptr.confirmed,
  };
  if (ptr.rcode !== 'NOERROR' && ptr.rcode !== 'NXDOMAIN') {
    return CONNECTION.make('inbound.connection.ptr', 'error', {
      summary: `The PTR lookup of ${ip} answered ${ptr.rcode}.`,
      details,
      subject,
    });
  }
  if (ptr.names.length === 0) {
    return CONNECTION.make('inbound.connection.ptr', 'fail', {
      summary: `The sending IP ${ip} has no PTR record.`,
      remedy: `Ask whoever runs ${ip} (your hosting or ISP) for a PTR record naming your mail server, e.g. mail.your-domain, and give that name an A/AAAA record pointing back to ${ip}.`,
      details,
      subject,
    });
  }
  if (ptr.confirmed.length === 0) {
    return CONNECTION.make('inbound.connection.ptr', 'fail', {
      summary: `The PTR of ${ip} names ${list(ptr.names)}, which do${ptr.names.length === 1 ? 'es' : ''} not resolve back to ${ip} (no forward confirmation).`,
      remedy: `Add an A/AAAA record for ${ptr.names[0]} pointing to ${ip}, or change the PTR to a name that does.`,
      details,
      subject,
    });
  }
  const name = ptr.confirmed[0]!;
  if (GENERIC_PTR.test(name)) {
    return CONNECTION.make('inbound.connection.ptr', 'warn', {
      summary: `${ip} reverses to ${name}, which looks like a dynamic or generic pool name; receivers treat mail from such names as from home connections.`,
      remedy:
        'Give the mail server a PTR that names it (mail.your-domain), not one generated from its address.',
      details,
      subject,
    });
  }
  return CONNECTION.make('inbound.connection.ptr', 'pass', {
    summary: `${ip} reverses to ${name}, which resolves back to ${ip}.`,
    details,
    subject,
  });
}

function heloFinding(c: ConnectionFacts, dns: ConnectionDns): Finding {
  const ip = c.remoteAddress;
  const helo = c.helo;
  if (!helo || helo.name === '') {
    return CONNECTION.make('inbound.connection.helo', 'fail', {
      summary: 'The client did not give a name in HELO/EHLO.',
      remedy:
        "Configure the sending server's host name (Postfix: myhostname, Exim: primary_hostname) to its fully qualified name.",
      details: {},
    });
  }
  const name = helo.name;
  const details: Record<string, unknown> = {
    command: helo.command,
    name,
    addresses: dns.helo?.addresses ?? [],
  };
  const literal = /^\[(?:IPv6:)?([^\]]+)\]$/i.exec(name);
  if (literal) {
    const same = sameAddress(literal[1]!, ip);
    return CONNECTION.make('inbound.connection.helo', 'warn', {
      summary: `The client greeted with the address literal ${name}${same ? '' : `, which is not its address ${ip}`}; many filters score greetings without a name.`,
      remedy: 'Greet with the fully qualified name of the sending server, one that resolves to its IP.',
      details,
    });
  }
  if (ipFamily(name) !== 0) {
    return CONNECTION.make('inbound.connection.helo', 'fail', {
      summary: `The client greeted with the bare address ${name}; RFC 5321 §4.1.3 requires brackets around an address, and receivers refuse this.`,
      remedy: 'Greet with the fully qualified host name of the sending server.',
      details,
    });
  }
  if (!HOSTNAME.test(name) || /^localhost(\.localdomain)?$/i.test(name)) {
    return CONNECTION.make('inbound.connection.helo', 'fail', {
      summary: `The client greeted as "${name.slice(0, 100)}", which is not a fully qualified host name.`,
      remedy:
        "Set the sending server's host name to its fully qualified name (e.g. mail.your-domain) with an A/AAAA record.",
      details,
    });
  }
  const a = dns.helo;
  if (!a || (a.rcode !== 'NOERROR' && a.rcode !== 'NXDOMAIN')) {
    return CONNECTION.make('inbound.connection.helo', 'error', {
      summary: `The addresses of the HELO name ${name} could not be looked up${a ? ` (${a.rcode})` : ''}.`,
      details,
    });
  }
  if (a.addresses.length === 0) {
    return CONNECTION.make('inbound.connection.helo', 'warn', {
      summary: `The HELO name ${name} does not resolve${a.rcode === 'NXDOMAIN' ? ' (the name does not exist)' : ''}.`,
      remedy: `Give ${name} an A/AAAA record with ${ip}, or greet with a name that has one.`,
      details,
    });
  }
  if (!a.addresses.some((x) => sameAddress(x, ip))) {
    return CONNECTION.make('inbound.connection.helo', 'warn', {
      summary: `The HELO name ${name} resolves to ${list(a.addresses)}, not to the sending IP ${ip}.`,
      remedy: `Greet with the name of the server that sends (the one whose A/AAAA is ${ip}), or add ${ip} to ${name}.`,
      details,
    });
  }
  return CONNECTION.make('inbound.connection.helo', 'pass', {
    summary: `The client greeted with ${helo.command} ${name}, which resolves to its IP ${ip}.`,
    details,
  });
}

function tlsFinding(c: ConnectionFacts): Finding {
  const t = c.tls;
  const details = {
    offered: t.offered,
    used: t.used,
    protocol: t.protocol ?? null,
    cipher: t.cipherStandard ?? t.cipher ?? null,
    failed: t.failed ?? null,
  };
  if (!t.used) {
    return CONNECTION.make('inbound.connection.tls', 'fail', {
      summary: t.failed
        ? `The sender's TLS handshake failed (${t.failed}), then it delivered the message in plain text.`
        : 'The sender delivered the message in plain text although the receiver offered STARTTLS.',
      remedy:
        'Turn on opportunistic TLS for outgoing mail (Postfix: smtp_tls_security_level = may or dane; Exim: tls_try_verify_hosts / the default hosts_try_*; Exchange: TLS on the send connector) and check the TLS library and CA bundle of the sending server.',
      details,
    });
  }
  const version = t.protocol ?? 'unknown';
  if (version === 'TLSv1' || version === 'TLSv1.1' || /^SSL/.test(version)) {
    return CONNECTION.make('inbound.connection.tls', 'fail', {
      summary: `The sender used ${version}, deprecated by RFC 8996; many receivers no longer accept it.`,
      remedy:
        'Update the TLS library or settings of the sending server to allow TLS 1.2 and 1.3 (Postfix: smtp_tls_protocols = >=TLSv1.2).',
      details,
    });
  }
  return CONNECTION.make('inbound.connection.tls', 'pass', {
    summary: `The sender used STARTTLS with ${version}${t.cipherStandard || t.cipher ? ` (${t.cipherStandard ?? t.cipher})` : ''}.`,
    details,
  });
}

function cipherFinding(c: ConnectionFacts): Finding | undefined {
  const t = c.tls;
  if (!t.used) return undefined;
  const name = t.cipherStandard ?? t.cipher ?? '';
  const details = { cipher: name, protocol: t.protocol ?? null };
  // TLS 1.3 suites are all AEAD with (EC)DHE; before 1.3 the name says it.
  const weak: string[] = [];
  if (!/^TLS_(AES|CHACHA20)/.test(name)) {
    if (!/(ECDHE|DHE)/.test(name)) weak.push('no forward secrecy (RSA key exchange)');
    if (/(RC4|3DES|DES_CBC|NULL|EXPORT)/.test(name)) weak.push('a broken cipher');
    else if (/CBC/.test(name)) weak.push('CBC mode instead of an AEAD cipher');
  }
  if (weak.length) {
    return CONNECTION.make('inbound.connection.cipher', 'warn', {
      summary: `The cipher ${name} has ${weak.join(' and ')}.`,
      remedy:
        'Prefer ECDHE with AES-GCM or ChaCha20-Poly1305 on the sending server (modern OpenSSL defaults do).',
      details,
    });
  }
  return CONNECTION.make('inbound.connection.cipher', 'pass', {
    summary: `The cipher ${name} has forward secrecy and authenticated encryption.`,
    details,
  });
}

function clientCertificateFinding(c: ConnectionFacts): Finding | undefined {
  const cert = c.tls.clientCertificate;
  if (!c.tls.used) return undefined;
  if (!cert) {
    return CONNECTION.make('inbound.connection.client_certificate', 'info', {
      summary: 'The sender presented no client certificate (it is optional for SMTP between servers).',
      details: {},
    });
  }
  const expired = Date.parse(cert.validTo) < Date.now();
  return CONNECTION.make('inbound.connection.client_certificate', expired ? 'warn' : 'info', {
    summary: `The sender presented a client certificate for ${cert.subject}${cert.selfSigned ? ' (self-signed)' : `, issued by ${cert.issuer}`}${expired ? `, which expired on ${cert.validTo.slice(0, 10)}` : ''}.`,
    ...(expired
      ? { remedy: 'Renew the certificate the sending server presents, or stop presenting it.' }
      : {}),
    details: { ...cert },
  });
}

function pipeliningFinding(c: ConnectionFacts): Finding {
  const misuse = c.pipelining.misuse;
  if (misuse.length === 0) {
    return CONNECTION.make('inbound.connection.pipelining', 'pass', {
      summary: c.pipelining.groups
        ? `The client pipelined ${c.pipelining.groups} group${c.pipelining.groups === 1 ? '' : 's'} of commands the way RFC 2920 allows.`
        : 'The client waited for each reply.',
      details: { ...c.pipelining },
    });
  }
  const what = misuse.map((m) =>
    m.next === 'message'
      ? 'the message before the 354 reply to DATA'
      : `${m.next} before the reply to ${m.after}`,
  );
  return CONNECTION.make('inbound.connection.pipelining', 'fail', {
    summary: `The client sent ${list(what, 3)}${c.pipelining.offered ? '' : ' (and PIPELINING was not offered)'}.`,
    remedy:
      'A real MTA does not do this: check for a broken SMTP library or a spam-sending script. Wait for the reply after EHLO, STARTTLS, DATA and QUIT (RFC 2920 §3.1, RFC 3207 §4).',
    details: { ...c.pipelining },
  });
}

function earlyTalkFinding(c: ConnectionFacts): Finding {
  const e = c.earlyTalk;
  if (!e) {
    return CONNECTION.make('inbound.connection.early_talk', 'pass', {
      summary: 'The client waited for the greeting before it spoke.',
      details: {},
    });
  }
  return CONNECTION.make('inbound.connection.early_talk', 'fail', {
    summary: `The client sent ${e.bytes} bytes before the 220 greeting ("${e.preview}"); receivers with a greet pause refuse it (554 SMTP synchronization error).`,
    remedy: 'Make the sending program read the greeting before it sends EHLO (RFC 5321 §3.1).',
    details: { ...e },
  });
}

function receiverCertificateFinding(c: ConnectionFacts): Finding {
  return CONNECTION.make('inbound.receiver.certificate', 'info', {
    summary:
      c.tls.receiverCertificate === 'self-signed'
        ? 'The test receiver offered a self-signed certificate generated at start (a development set-up): a sender that verifies certificates would not use TLS with it, which is no fault of the sender.'
        : 'The test receiver offered its configured certificate.',
    details: { receiverCertificate: c.tls.receiverCertificate },
  });
}

/** The findings about the connection, in report order. */
export function evaluateConnection(c: ConnectionFacts, dns: ConnectionDns): Finding[] {
  return [
    ptrFinding(c, dns),
    heloFinding(c, dns),
    tlsFinding(c),
    cipherFinding(c),
    clientCertificateFinding(c),
    earlyTalkFinding(c),
    pipeliningFinding(c),
    receiverCertificateFinding(c),
  ].filter((f): f is Finding => f !== undefined);
}
