import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runMxdoctor } from '../support/cli.js';
import { startBulkFixture } from '../support/bulk-fixture.js';
import type { BulkFixture } from '../support/bulk-fixture.js';
import { reportValidator } from '../support/schema.js';
import { CSV_HEADER } from '../../src/report/bulk.js';
import type { Report } from '../../src/report/model.js';

/**
 * `mxdoctor check --file` end to end: six fixture domains behind two loopback MX servers
 * (every third without SPF), a list with comments, a blank line, an invalid line, an address
 * and a repeated domain.
 */
describe('mxdoctor check --file (bulk)', () => {
  let f: BulkFixture;
  const validate = reportValidator();
  let list: string;

  before(async () => {
    f = await startBulkFixture({ domains: 6, mxHosts: 2, failEvery: 3 });
    const d = f.domains;
    list = [
      '# customers, one a line',
      d[0],
      `${d[1]}   # trailing comment`,
      d[2],
      '',
      'not a domain!',
      `bob@${d[3]}`,
      d[4],
      d[5],
      d[0],
    ].join('\n');
  });
  after(async () => {
    for (const fake of f.fakes) fake.assertNoMessageSent();
    await f.stop();
  });

  const run = (args: string[], stdin = list) =>
    runMxdoctor(['check', '--file', '-', ...args], { env: f.env(), stdin, timeoutMs: 90_000 });

  it('writes one report a line in the order of the list, reports bad lines by number, and goes on', async () => {
    const before = f.fakes.map((x) => x.connections);
    const r = await run(['--json', '--concurrency', '4']);
    assert.equal(r.code, 2, r.stderr); // an invalid line: input error, over all
    const reports = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Report);
    assert.deepEqual(
      reports.map((x) => x.domain.ascii),
      f.domains,
    );
    assert.equal(reports[3]!.domain.input, `bob@${f.domains[3]}`);
    for (const report of reports) {
      assert.deepEqual(validate(report), []);
      assert.equal(typeof report.score?.value, 'number');
    }
    assert.match(r.stderr, /standard input:6: "not a domain!" contains spaces/);
    assert.match(r.stderr, /standard input:10: d0\.bulk\.test repeats the domain of line 2; checked once/);
    assert.match(r.stderr, /6 of 6 domains checked in .*: 0 pass, 4 warn, 2 fail; median score \d+/);
    // Three domains per MX: the connection-level probe and the legacy-TLS handshake once per
    // MX address, then one recipient session for each further domain (4, not 6, sessions).
    const sessions = f.fakes.map((x, i) => x.connections - before[i]!);
    assert.deepEqual(sessions, [4, 4]);
    assert.match(r.stderr, /SMTP: 8 sessions to 2 MX addresses; connection facts shared 4 times/);
  });

  it('writes CSV with a column per area, and exits 1 when a domain fails', async () => {
    const clean = f.domains.join('\n');
    const r = await run(['--csv'], clean);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], CSV_HEADER.join(','));
    assert.equal(lines.length, 7);
    const row = lines[3]!.split(',');
    assert.deepEqual(row.slice(0, 3), ['3', 'd2.bulk.test', 'fail']);
    assert.ok(Number(row[3]) > 0 && Number(row[3]) < 100, `score ${row[3]}`);
    assert.match(lines[3]!, /"SPF record: d2\.bulk\.test publishes no SPF record/);
  });

  it('prints a summary table by default, and everything with --unordered', async () => {
    const table = await run([], f.domains.slice(0, 2).join('\n'));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^DOMAIN +VERDICT +SCORE +FAIL +WARN +ERR +WORST PROBLEM\n/);
    assert.match(table.stdout, /\nd0\.bulk\.test +WARN +\d+ +0 +1 +\d+ +Reverse DNS/);
    assert.match(table.stdout, /\n2 of 2 domains checked in /);
    const unordered = await run(['--json', '--unordered'], f.domains.join('\n'));
    assert.deepEqual(
      unordered.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as Report).domain.ascii)
        .sort(),
      [...f.domains].sort(),
    );
  });

  it('refuses what does not go together, with exit 2', async () => {
    for (const [args, message] of [
      [['check', 'example.com', '--file', '-'], /either a domain or --file/],
      [['check', 'example.com', '--csv'], /go with --file/],
      [['check', '--file', '-', '--json', '--csv'], /--json and --csv cannot be combined/],
      [['check', '--file', '-', '--concurrency', '0'], /--concurrency "0" must be a number from 1 to 200/],
      [['check', '--file', '/nonexistent/list.txt'], /cannot read \/nonexistent\/list\.txt: no such file/],
    ] as const) {
      const r = await runMxdoctor([...args], { env: f.env(), stdin: '' });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    // As a monitoring plugin every failure to check is UNKNOWN (3).
    const nagios = await runMxdoctor(['check', '--file', '-', '--nagios'], { env: f.env(), stdin: '' });
    assert.equal(nagios.code, 3);
    assert.match(
      nagios.stdout,
      /MXDOCTOR UNKNOWN - --nagios checks one domain; it cannot be combined with --file/,
    );
    const empty = await run([], '# nothing\n\n');
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /standard input names no domain to check/);
  });
});
