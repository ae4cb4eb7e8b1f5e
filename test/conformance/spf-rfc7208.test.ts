import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DnsClient } from '../../src/dns/client.js';
import { checkHost } from '../../src/spf/evaluate.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns, NameBehaviour, Zones } from '../support/dns-server.js';
import { ROOT } from '../support/cli.js';

/**
 * The openspf RFC 7208 test suite (shared/conformance/spf/rfc7208-tests.yml), driven through
 * checkHost() and the real DnsClient against a loopback dns2 server serving each section's
 * zone data. Conventions of the suite's drivers: SPF-type records are also served as TXT
 * unless the name has TXT records or "TXT: NONE"; "TIMEOUT" means the name never answers a
 * query for a type it has no records of. A test listing several results passes on any.
 * Where shared/ is absent, only this suite is skipped.
 */
const SUITE = join(ROOT, '..', 'shared', 'conformance', 'spf', 'rfc7208-tests.yml');

interface SuiteTest {
  description?: string;
  spec?: string | string[];
  helo: string;
  host: string;
  mailfrom: string;
  result: string | string[];
  explanation?: string;
}
interface SuiteSection {
  description: string;
  tests: Record<string, SuiteTest>;
  zonedata: Record<string, (string | Record<string, unknown>)[]>;
}

/**
 * Tests known to fail, with the reason. Empty means every test passes; the suite's score
 * is printed either way.
 */
const KNOWN_FAILURES: Record<string, string> = {};

function toZones(zonedata: SuiteSection['zonedata']): {
  zones: Zones;
  behaviour: Record<string, NameBehaviour>;
} {
  const zones: Zones = {};
  const behaviour: Record<string, NameBehaviour> = {};
  for (const [rawName, entries] of Object.entries(zonedata)) {
    const name = rawName.toLowerCase().replace(/\.$/, '');
    const records: Record<string, (string | string[])[]> = {};
    let txtNone = false;
    const spf: (string | string[])[] = [];
    for (const entry of entries ?? []) {
      if (entry === 'TIMEOUT') {
        behaviour[name] = { silentWhenNoData: true };
        continue;
      }
      if (typeof entry !== 'object' || entry === null) continue;
      for (const [type, value] of Object.entries(entry)) {
        const text = (v: unknown): string | string[] =>
          Array.isArray(v) ? (v.length === 0 ? [''] : v.map(String)) : String(v);
        if (type === 'TXT' && value === 'NONE') {
          txtNone = true;
          continue;
        }
        if (type === 'SPF') {
          spf.push(text(value));
          continue;
        }
        let record: string | string[];
        if (type === 'MX') {
          const [pref, host] = value as [number, string];
          record = `${pref} ${host === '' ? '.' : host}`;
        } else {
          record = text(value);
        }
        (records[type] ??= []).push(record);
      }
    }
    if (spf.length > 0 && !records.TXT && !txtNone) records.TXT = spf;
    zones[name] = records;
  }
  return { zones, behaviour };
}

function senderDomain(test: SuiteTest): string {
  if (!test.mailfrom) return test.helo;
  const at = test.mailfrom.lastIndexOf('@');
  return at < 0 ? test.mailfrom : test.mailfrom.slice(at + 1);
}

const present = existsSync(SUITE);
const sections: SuiteSection[] = present
  ? parseAllDocuments(readFileSync(SUITE, 'utf8')).map((d) => d.toJS() as SuiteSection)
  : [];
const score = {
  passed: 0,
  total: sections.reduce((n, s) => n + Object.keys(s.tests).length, 0),
  failures: [] as string[],
};

describe(
  'RFC 7208 conformance suite (openspf 2014.04)',
  { skip: present ? false : `${SUITE} is absent` },
  () => {
    for (const section of sections) {
      describe(section.description, () => {
        let dns: FixtureDns | undefined;
        const server = async (): Promise<FixtureDns> => {
          if (!dns) {
            const { zones, behaviour } = toZones(section.zonedata ?? {});
            dns = await startFixtureDns({ zones, behaviour });
          }
          return dns;
        };
        after(async () => dns?.stop());
        for (const [name, test] of Object.entries(section.tests)) {
          const known = KNOWN_FAILURES[name];
          it(name, known ? { todo: known } : {}, async () => {
            const fixture = await server();
            const client = new DnsClient({
              servers: [{ host: '127.0.0.1', port: fixture.port }],
              // Generous enough for a loaded CI machine; "TIMEOUT" names cost 3 × 800 ms.
              timeoutMs: 800,
              retries: 2,
            });
            const outcome = await checkHost(client, {
              ip: test.host,
              domain: senderDomain(test),
              sender: test.mailfrom,
              helo: test.helo,
              receiver: 'receivingdomain.com',
            });
            const expected = Array.isArray(test.result) ? test.result : [test.result];
            let ok = expected.includes(outcome.result);
            let why = `result ${outcome.result}, expected ${expected.join(' or ')} (${outcome.reason})`;
            if (ok && test.explanation !== undefined && outcome.result === 'fail') {
              const got = outcome.explanation ?? 'DEFAULT';
              ok = got === test.explanation;
              why = `explanation ${JSON.stringify(got)}, expected ${JSON.stringify(test.explanation)}`;
            }
            if (ok) score.passed++;
            else score.failures.push(`${name}: ${why}`);
            assert.ok(ok, why);
          });
        }
      });
    }
    after(() => {
      if (score.total === 0) return;
      console.log(`RFC 7208 suite: ${score.passed}/${score.total} passed`);
      for (const f of score.failures) console.log(`  failing: ${f}`);
    });
  },
);
