// Benchmark: duration of a full `mxdoctor check` (MX + SMTP/TLS probe with recipient
// verification) against the well-configured fake MX (IPv4 + IPv6 when available), median of
// 5 runs of the compiled CLI; then the findings every SMTP fixture produces.
// Run with `npm run bench` (builds first). Results also go to bench/results/smtp-check.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFixtureDns } from '../test/support/dns-server.js';
import { ROOT, runMxdoctor } from '../test/support/cli.js';
import { startSmtpFixtures } from '../test/fixtures/smtp-servers.js';
import { smtpZones } from '../test/fixtures/zones/smtp.js';
import type { Report } from '../src/report/model.js';

const RUNS = 5;
const compiled = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'));
const fx = await startSmtpFixtures();
const dns = await startFixtureDns({ zones: smtpZones(fx.ipv6) });

async function check(domain: string, extra: string[] = []): Promise<{ report: Report; wallMs: number }> {
  const t0 = performance.now();
  const r = await runMxdoctor(['check', domain, '--json', '--resolver', dns.address, ...extra], {
    env: fx.env(),
    compiled,
  });
  const wallMs = performance.now() - t0;
  try {
    return { report: JSON.parse(r.stdout) as Report, wallMs };
  } catch {
    throw new Error(`mxdoctor check ${domain} printed no report (exit ${r.code}): ${r.stderr}`);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const verify = ['--verify', 'alice@good.test', '--verify', 'bob@good.test'];
  await check('good.test', verify); // warm-up (disk cache, TLS library)
  const wall: number[] = [];
  const internal: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { report, wallMs } = await check('good.test', verify);
    wall.push(wallMs);
    internal.push(report.durationMs);
  }
  const sessions = (await check('good.test', verify)).report.data.smtp as { sessions: unknown[] };
  console.log(
    `full check of good.test (${fx.ipv6 ? 'IPv4 + IPv6' : 'IPv4 only'}, ${sessions.sessions.length} SMTP sessions, --verify ×2, ${compiled ? 'compiled dist/' : 'from source via tsx'}):`,
  );
  console.log(`  report.durationMs   median ${median(internal)} ms  (runs: ${internal.join(', ')})`);
  console.log(
    `  CLI wall clock      median ${Math.round(median(wall))} ms  (runs: ${wall.map(Math.round).join(', ')})`,
  );

  const fixtures: [string, string[]][] = [
    ['good.test', verify],
    ['catchall.test', ['--verify', 'nobody@catchall.test']],
    ['nostarttls.test', []],
    ['brokentls.test', ['--verify', 'alice@brokentls.test']],
    ['expired.test', []],
    ['notyet.test', []],
    ['selfsigned.test', []],
    ['wrongname.test', []],
    ['banner554.test', []],
    ['busy.test', []],
    ['tarpit.test', []],
    ['silentehlo.test', []],
    ['endless.test', []],
    ['dropmail.test', ['--verify', 'alice@dropmail.test']],
    ['greylist.test', ['--verify', 'bob@greylist.test']],
    ['greylist.test', ['--verify', 'carol@greylist.test', '--greylist-retry', '1500ms']],
    ['rejectsender.test', ['--verify', 'alice@rejectsender.test']],
    ['multi.test', []],
    ['openrelay.test', []],
    ['legacy.test', []],
    ['postscreen.test', ['--verify', 'alice@postscreen.test']],
    ['lookupfail.test', ['--verify', 'alice@lookupfail.test']],
    ['nullmx.test', []],
  ];
  const table: { domain: string; args: string[]; ms: number; findings: string[] }[] = [];
  console.log('\nfixture | findings (smtp.*, tls.*, rcpt.*, probe.*) | duration');
  for (const [domain, args] of fixtures) {
    const { report } = await check(domain, args);
    const findings = report.checks
      .filter((f) => /^(smtp|tls|rcpt|probe)\./.test(f.id))
      .map(
        (f) =>
          `${f.id}${f.subject?.name ? `<${f.subject.name}>` : ''}${f.subject?.host && report.mx.hosts.length > 1 ? `@${f.subject.host}` : ''}: ${f.status}`,
      );
    table.push({ domain, args, ms: report.durationMs, findings });
    console.log(
      `${domain}${args.length ? ` ${args.join(' ')}` : ''} | ${findings.join(', ')} | ${report.durationMs} ms`,
    );
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench', 'results', 'smtp-check.json'),
    JSON.stringify(
      { at: new Date().toISOString(), compiled, ipv6: fx.ipv6, runs: { wall, internal }, fixtures: table },
      null,
      2,
    ),
  );
  for (const f of fx.fakes) f.assertNoMessageSent();
} finally {
  await fx.stop();
  await dns.stop();
}
