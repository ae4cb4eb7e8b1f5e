/**
 * The areas findings are grouped under in the terminal and web reports, by the prefix of
 * their ID ("spf.record" → Authentication). One list, so both front ends group alike.
 */
export const GROUPS: { title: string; prefixes: string[] }[] = [
  { title: 'Input & DNS', prefixes: ['input', 'dns', 'pipeline'] },
  { title: 'MX', prefixes: ['mx'] },
  { title: 'SMTP & TLS', prefixes: ['smtp', 'tls', 'rcpt', 'probe', 'starttls'] },
  { title: 'Authentication', prefixes: ['spf', 'dmarc', 'dkim', 'bimi', 'mta_sts', 'tls_rpt'] },
  { title: 'DANE & DNSSEC', prefixes: ['dane', 'dnssec'] },
  { title: 'Reputation', prefixes: ['ptr', 'dnsbl'] },
];

export function groupOf(id: string): string {
  const prefix = id.split('.')[0]!;
  return GROUPS.find((g) => g.prefixes.includes(prefix))?.title ?? 'Other';
}
