import { parseTagList } from '../dns/tag-list.js';

/**
 * DMARC policy records (RFC 7489 §6.3, np= from RFC 9091): a pure parser that keeps every
 * problem with the tag at fault, so the check can quote it and show the corrected record.
 */
export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

export interface DmarcUri {
  /** As written, e.g. "mailto:dmarc@example.com!10m". */
  text: string;
  scheme: string;
  /** For mailto: the address. */
  address?: string;
  /** Domain of the address (mailto) or host (https). */
  domain?: string;
  /** Size limit suffix ("!10m"), when given. */
  limit?: string;
  error?: string;
}

export interface DmarcProblem {
  tag: string;
  severity: 'error' | 'warning';
  message: string;
}

export interface DmarcRecord {
  text: string;
  /** Effective policy; undefined when p= is missing or invalid and no fallback applies. */
  p?: DmarcPolicy;
  sp?: DmarcPolicy;
  np?: DmarcPolicy;
  pct: number;
  rua: DmarcUri[];
  ruf: DmarcUri[];
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  fo: string[];
  ri: number;
  /** Tags that are not defined by RFC 7489/9091 (ignored by receivers). */
  unknownTags: string[];
  problems: DmarcProblem[];
}

export type DmarcParse = { ok: true; record: DmarcRecord } | { ok: false; error: string; at: number };

/** A record that a receiver would consider a DMARC record at all (RFC 7489 §6.6.3 step 4). */
export function isDmarcRecord(text: string): boolean {
  return /^v\s*=\s*DMARC1\s*(;|$)/i.test(text);
}

export function parseDmarcUri(text: string): DmarcUri {
  const uri: DmarcUri = { text, scheme: '' };
  const bang = text.lastIndexOf('!');
  let base = text;
  if (bang > 0 && /^\d+[kmgt]?$/i.test(text.slice(bang + 1))) {
    uri.limit = text.slice(bang + 1);
    base = text.slice(0, bang);
  }
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(base);
  if (!m) {
    uri.error = `"${text}" is not a URI; report addresses are written "mailto:reports@example.com"`;
    return uri;
  }
  uri.scheme = m[1]!.toLowerCase();
  if (uri.scheme === 'mailto') {
    const address = decodeURIComponent(m[2]!.replace(/%(?![0-9a-f]{2})/gi, '%25'));
    if (!/^[^\s@]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/i.test(address)) {
      uri.error = `"${text}" does not contain a valid email address`;
      return uri;
    }
    uri.address = address;
    uri.domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    return uri;
  }
  if (uri.scheme === 'https' || uri.scheme === 'http') {
    try {
      uri.domain = new URL(base).hostname.toLowerCase();
    } catch {
      uri.error = `"${text}" is not a valid URL`;
    }
    return uri;
  }
  uri.error = `"${text}" uses the scheme "${uri.scheme}:"; receivers only send reports to mailto: addresses`;
  return uri;
}

export function parseDmarc(text: string): DmarcParse {
  if (!isDmarcRecord(text)) return { ok: false, error: 'the record does not start with "v=DMARC1"', at: 0 };
  const list = parseTagList(text, { caseInsensitiveNames: true });
  if (!list.ok) return { ok: false, error: list.error, at: list.at };
  const problems: DmarcProblem[] = [];
  const record: DmarcRecord = {
    text,
    pct: 100,
    rua: [],
    ruf: [],
    adkim: 'r',
    aspf: 'r',
    fo: ['0'],
    ri: 86400,
    unknownTags: [],
    problems,
  };
  for (const tag of list.tags) {
    const rule = Object.hasOwn(TAG_RULES, tag.name) ? TAG_RULES[tag.name] : undefined;
    if (rule) {
      rule(record, tag.value, tag.name);
      continue;
    }
    record.unknownTags.push(`${tag.name}=${tag.value}`);
    problems.push({
      tag: tag.name,
      severity: 'warning',
      message: `"${tag.name}=${tag.value}" is not a DMARC tag; receivers ignore it`,
    });
  }
  if (list.tags[0]?.name !== 'v') {
    return { ok: false, error: 'v=DMARC1 must be the first tag', at: 0 };
  }
  if (!list.map.has('p') || record.p === undefined) {
    // RFC 7489 §6.6.3: a record without a valid p= but with a valid rua= is treated as p=none.
    const validRua = record.rua.some((u) => !u.error);
    if (!list.map.has('p')) {
      problems.push({
        tag: 'p',
        severity: 'error',
        message: `the required tag p= is missing${validRua ? ' (receivers apply p=none because rua= is valid)' : ''}`,
      });
    }
    if (validRua) record.p = 'none';
  }
  return { ok: true, record };
}

/** Reads one tag's value into the record, or notes the problem with it. */
type TagRule = (record: DmarcRecord, value: string, name: string) => void;

function policyOf(record: DmarcRecord, tag: string, value: string): DmarcPolicy | undefined {
  const v = value.toLowerCase();
  if (v === 'none' || v === 'quarantine' || v === 'reject') return v;
  record.problems.push({
    tag,
    severity: 'error',
    message: `${tag}=${value} is not a policy; use ${tag}=none, ${tag}=quarantine or ${tag}=reject`,
  });
  return undefined;
}

function alignment(record: DmarcRecord, v: string, name: 'adkim' | 'aspf'): void {
  if (v === 'r' || v === 's') record[name] = v;
  else
    record.problems.push({
      tag: name,
      severity: 'error',
      message: `${name}=${v} must be "r" (relaxed) or "s" (strict)`,
    });
}

function reportUris(record: DmarcRecord, v: string, name: 'rua' | 'ruf'): void {
  const uris = v
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (uris.length === 0) {
    record.problems.push({ tag: name, severity: 'error', message: `${name}= is empty` });
  }
  for (const u of uris) {
    const uri = parseDmarcUri(u);
    if (uri.error) record.problems.push({ tag: name, severity: 'error', message: uri.error });
    record[name].push(uri);
  }
}

/** The tags of RFC 7489 §6.3 and RFC 9091 (np=); any other tag is unknown. */
const TAG_RULES: Record<string, TagRule> = {
  v: (record, v) => {
    if (v !== 'DMARC1') {
      record.problems.push({
        tag: 'v',
        severity: 'warning',
        message: `v=${v} should be written exactly "v=DMARC1"`,
      });
    }
  },
  p: (record, v) => {
    const p = policyOf(record, 'p', v);
    if (p) record.p = p;
  },
  sp: (record, v) => {
    const p = policyOf(record, 'sp', v);
    if (p) record.sp = p;
  },
  np: (record, v) => {
    const p = policyOf(record, 'np', v);
    if (p) record.np = p;
  },
  pct: (record, v) => {
    if (/^\d{1,3}$/.test(v) && Number(v) <= 100) record.pct = Number(v);
    else
      record.problems.push({
        tag: 'pct',
        severity: 'error',
        message: `pct=${v} must be a whole number from 0 to 100`,
      });
  },
  adkim: (record, v) => alignment(record, v, 'adkim'),
  aspf: (record, v) => alignment(record, v, 'aspf'),
  fo: (record, v) => {
    const opts = v.split(':').map((o) => o.trim());
    const bad = opts.filter((o) => !['0', '1', 'd', 's'].includes(o));
    if (bad.length) {
      record.problems.push({
        tag: 'fo',
        severity: 'warning',
        message: `fo=${v}: ${bad.map((b) => `"${b}"`).join(', ')} not defined; use 0, 1, d or s separated by ":"`,
      });
    }
    record.fo = opts.filter((o) => !bad.includes(o));
  },
  ri: (record, v) => {
    if (/^\d+$/.test(v)) record.ri = Number(v);
    else
      record.problems.push({
        tag: 'ri',
        severity: 'warning',
        message: `ri=${v} must be a number of seconds`,
      });
  },
  rf: (record, v) => {
    if (v.toLowerCase() !== 'afrf') {
      record.problems.push({
        tag: 'rf',
        severity: 'warning',
        message: `rf=${v}: the only defined format is "afrf"`,
      });
    }
  },
  rua: (record, v) => reportUris(record, v, 'rua'),
  ruf: (record, v) => reportUris(record, v, 'ruf'),
};
