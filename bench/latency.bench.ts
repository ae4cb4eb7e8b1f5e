// P1/P2 (issue 14): a domain check at the speed of its critical path. Two fully configured
// fixture domains (bench/support/latency-fixtures.ts: one MX, and two MX hosts; STARTTLS,
// DANE, MTA-STS, SPF, DMARC, DKIM, TLS-RPT, BIMI, PTR) behind a proxy that adds a round-trip
// time to every DNS exchange, every TCP connection (the handshake too) and every byte
// (test/support/latency-proxy.ts), on loopback. For each domain it prints:
//   - the wall time of `mxdoctor check --json` with two --verify addresses (compiled dist/),
//   - the CLI's bare start (`mxdoctor --version`),
//   - the critical path in round trips, from the report's own timeline (DNS log, transcripts,
//     the policy fetch; bench/support/critical-path.ts), and the observed chain of waits,
//   - P1 = (wall − bare start) / (critical path × RTT), target ≤ 1.25;
//   - the toolbox way, when dig, posttls-finger, swaks and curl are installed: the same facts
//     gathered by running them one after another through the same proxy; and
//     P2 = toolbox time / mxdoctor wall time, target ≥ 4.
//
//   npm run bench latency                RTT=50 (ms) RUNS=3 by default; VERBOSE=1 prints the chains
// Results also go to bench/results/latency.json.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/support/cli.js';
import { criticalPath } from './support/critical-path.js';
import type { CheckReport, Exchange } from './support/critical-path.js';
import { startLatencyWorld } from './support/latency-fixtures.js';
import type { LatencyDomain, LatencyWorld } from './support/latency-fixtures.js';

const RTT = Number(process.env.RTT ?? 50);
const RUNS = Number(process.env.RUNS ?? 3);
const VERBOSE = process.env.VERBOSE === '1';
const P1_TARGET = 1.25;
const P2_TARGET = 4;

if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
  console.log('latency: dist/ is missing (run `npm run build`); skipped');
  process.exit(0);
}

interface Ran {
  wallMs: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command asynchronously (the proxy and the fixture servers live in this process). */
function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ wallMs: performance.now() - t0, code, stdout, stderr });
    });
  });
}

const mxdoctor = (args: string[], env: Record<string, string> = {}): Promise<Ran> =>
  run(process.execPath, [join(ROOT, 'bin', 'mxdoctor.js'), ...args], env);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function checkArgs(world: LatencyWorld, d: LatencyDomain): string[] {
  return [
    'check',
    d.name,
    '--json',
    '--resolver',
    world.resolver,
    '--dkim-selector',
    d.dkimSelector,
    ...d.verify.flatMap((v) => ['--verify', v]),
  ];
}

/** The toolbox way: the same facts with dig, curl, posttls-finger and swaks, one after another. */
function toolboxCommands(world: LatencyWorld, d: LatencyDomain): [string, string[]][] {
  const [server, port] = world.resolver.split(':') as [string, string];
  const dig = (...q: string[]): [string, string[]] => [
    'dig',
    [`@${server}`, '-p', port, '+tries=1', '+time=5', '+adflag', ...q],
  ];
  const smtp = String(world.smtpPort);
  const swaks = (address: string, ...args: string[]): [string, string[]] => [
    'swaks',
    [
      '--server',
      address,
      '--port',
      smtp,
      '--tls',
      '--quit-after',
      'RCPT',
      '--ehlo',
      'probe.example.org',
      '--timeout',
      '10',
      ...args,
    ],
  ];
  const commands: [string, string[]][] = [dig('MX', d.name)];
  for (const { host } of d.mx) commands.push(dig('A', host), dig('AAAA', host));
  for (const { host, address } of d.mx) {
    commands.push(dig('TLSA', `_${smtp}._tcp.${host}`), dig('-x', address));
  }
  commands.push(
    dig('TXT', d.name),
    dig('TXT', `_dmarc.${d.name}`),
    dig('TXT', `${d.dkimSelector}._domainkey.${d.name}`),
    dig('TXT', `_mta-sts.${d.name}`),
    dig('TXT', `_smtp._tls.${d.name}`),
    dig('TXT', `default._bimi.${d.name}`),
    dig('A', `mta-sts.${d.name}`),
    [
      'curl',
      [
        '-sS',
        '--max-time',
        '10',
        '--cacert',
        world.caFile,
        '--resolve',
        `mta-sts.${d.name}:${world.httpsPort}:127.0.0.82`,
        `https://mta-sts.${d.name}:${world.httpsPort}/.well-known/mta-sts.txt`,
      ],
    ],
  );
  for (const { host, address } of d.mx) {
    commands.push(
      ['posttls-finger', ['-c', '-l', 'secure', '-F', world.caFile, `[${address}]:${smtp}`, host]],
      // The addresses to verify and postmaster; the null sender; a relay attempt.
      swaks(
        address,
        '--from',
        'mxdoctor@probe.example.org',
        '--to',
        [...d.verify, `postmaster@${d.name}`].join(','),
      ),
      swaks(address, '--from', '', '--to', `postmaster@${d.name}`),
      swaks(address, '--from', 'mxdoctor@probe.example.org', '--to', 'relay-test@example.net'),
    );
  }
  return commands;
}

async function installed(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await run(cmd, args, {}, 10_000)).code === 0;
  } catch {
    return false;
  }
}

function chainText(chain: Exchange[], rtt: number, ideal: boolean): string[] {
  let prevEnd: number | undefined;
  return chain.map((e) => {
    const wait =
      prevEnd !== undefined && e.start - prevEnd > 2 ? `  (+${Math.round(e.start - prevEnd)} ms idle)` : '';
    prevEnd = e.end;
    const took = `${Math.round(e.end - e.start)} ms = ${((e.end - e.start) / rtt).toFixed(1)} RTT`;
    return `      ${String(Math.round(e.start)).padStart(5)} ms  ${ideal ? `${e.ideal} RTT  ` : ''}${e.label} (${took})${wait}`;
  });
}

const world = await startLatencyWorld(RTT);
const results: Record<string, unknown>[] = [];
try {
  const toolbox =
    (await installed('dig', ['-v'])) &&
    (await installed('swaks', ['--version'])) &&
    (await installed('curl', ['--version'])) &&
    (await run('posttls-finger', [], {}, 10_000).then(
      (r) => /usage: posttls-finger/.test(r.stderr + r.stdout),
      () => false,
    ));
  // The bare start: what any command costs before it does anything.
  await mxdoctor(['--version']);
  const bare: number[] = [];
  for (let i = 0; i < 5; i++) bare.push((await mxdoctor(['--version'])).wallMs);
  const bareMs = median(bare);
  console.log(
    `latency bench: RTT ${RTT} ms on every DNS exchange and TCP connection (loopback proxy), compiled dist/, median of ${RUNS}`,
  );
  console.log(`  bare start (mxdoctor --version): ${Math.round(bareMs)} ms`);

  for (const d of world.domains) {
    const args = checkArgs(world, d);
    await mxdoctor(args, world.env); // warm-up (disk cache, fixtures)
    const runs: { wallMs: number; report: CheckReport }[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await mxdoctor(args, world.env);
      let report: CheckReport;
      try {
        report = JSON.parse(r.stdout) as CheckReport;
      } catch {
        throw new Error(`mxdoctor ${args.join(' ')} printed no report (exit ${r.code}): ${r.stderr}`);
      }
      runs.push({ wallMs: r.wallMs, report });
    }
    runs.sort((a, b) => a.wallMs - b.wallMs);
    const mid = runs[Math.floor(runs.length / 2)]!;
    const cp = criticalPath(mid.report, RTT);
    const cpMs = cp.ideal.rtts * RTT;
    const p1 = (mid.wallMs - bareMs) / cpMs;

    let toolboxMs: number | null = null;
    const toolRuns: { command: string; ms: number; exit: number | null }[] = [];
    if (toolbox) {
      const commands = toolboxCommands(world, d);
      const totals: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        let total = 0;
        for (const [cmd, cargs] of commands) {
          const r = await run(cmd, cargs, {}, 30_000);
          total += r.wallMs;
          if (i === 0)
            toolRuns.push({ command: `${cmd} ${cargs.join(' ')}`, ms: Math.round(r.wallMs), exit: r.code });
        }
        totals.push(total);
      }
      toolboxMs = median(totals);
    }
    const p2 = toolboxMs !== null ? toolboxMs / mid.wallMs : null;
    const label = `${d.name} (${d.mx.length} MX, STARTTLS, DANE, MTA-STS, --verify ×${d.verify.length})`;
    console.log(`\n  ${label}`);
    console.log(
      `    mxdoctor check       wall ${Math.round(mid.wallMs)} ms (runs ${runs.map((r) => Math.round(r.wallMs)).join(', ')}), report.durationMs ${mid.report.durationMs}`,
    );
    console.log(
      `    critical path        ${cp.ideal.rtts} RTT = ${cpMs} ms: ${cp.ideal.chain.map((e) => e.label.replace(/^probe [^:]+: /, '')).join(' → ')}`,
    );
    console.log(
      `    P1 (wall − bare start) / critical path = (${Math.round(mid.wallMs)} − ${Math.round(bareMs)}) / ${cpMs} = ${p1.toFixed(2)}  (target ≤ ${P1_TARGET}: ${p1 <= P1_TARGET ? 'met' : 'NOT met'})`,
    );
    console.log(
      `    in-process           report.durationMs / critical path = ${mid.report.durationMs} / ${cpMs} = ${(mid.report.durationMs / cpMs).toFixed(2)} (the check itself, without the process start and module loading)`,
    );
    const observedRtt = cp.observed.chain.reduce((n, e) => n + (e.end - e.start), 0) / RTT;
    console.log(
      `    observed chain       ${cp.observed.chain.length} exchanges one after another, ${observedRtt.toFixed(1)} RTT of waiting on the network (run with VERBOSE=1 for the list)`,
    );
    if (VERBOSE) {
      console.log('    ideal chain:');
      for (const l of chainText(cp.ideal.chain, RTT, true)) console.log(l);
      console.log('    observed chain (each waited for the one before):');
      for (const l of chainText(cp.observed.chain, RTT, false)) console.log(l);
    }
    if (toolboxMs !== null && p2 !== null) {
      console.log(
        `    toolbox              ${Math.round(toolboxMs)} ms for ${toolRuns.length} commands in sequence (dig ×${toolRuns.filter((t) => t.command.startsWith('dig')).length}, curl, posttls-finger, swaks ×3 per MX)`,
      );
      console.log(
        `    P2 toolbox / mxdoctor = ${p2.toFixed(2)}×  (target ≥ ${P2_TARGET}×: ${p2 >= P2_TARGET ? 'met' : 'NOT met'})`,
      );
      if (VERBOSE)
        for (const t of toolRuns)
          console.log(`      ${String(t.ms).padStart(5)} ms  exit ${t.exit}  ${t.command}`);
    } else {
      console.log(
        '    toolbox              skipped: dig, swaks, posttls-finger or curl not installed (apt-get install -y dnsutils swaks postfix curl)',
      );
    }
    results.push({
      domain: d.name,
      mxHosts: d.mx.length,
      wallMs: Math.round(mid.wallMs),
      runsMs: runs.map((r) => Math.round(r.wallMs)),
      durationMs: mid.report.durationMs,
      bareStartMs: Math.round(bareMs),
      criticalPathRtt: cp.ideal.rtts,
      criticalPath: cp.ideal.chain.map((e) => ({ label: e.label, rtt: e.ideal })),
      p1: Math.round(p1 * 100) / 100,
      p1InProcess: Math.round((mid.report.durationMs / cpMs) * 100) / 100,
      observedChain: cp.observed.chain.map((e) => ({
        label: e.label,
        startMs: Math.round(e.start),
        endMs: Math.round(e.end),
      })),
      toolboxMs: toolboxMs === null ? null : Math.round(toolboxMs),
      toolbox: toolRuns,
      p2: p2 === null ? null : Math.round(p2 * 100) / 100,
    });
  }
  const { tcpConnections, udpDatagrams, deliveries, lateMsTotal, lateMsMax } = world.proxy.stats;
  console.log(
    `\n  proxy: ${tcpConnections} TCP connections, ${udpDatagrams} UDP datagrams relayed; its ${deliveries} timed deliveries ran ${(lateMsTotal / Math.max(1, deliveries)).toFixed(2)} ms late on average (at most ${lateMsMax.toFixed(1)}), once each way of a round trip`,
  );
  for (const f of world.fakes) f.assertNoMessageSent();
} finally {
  await world.stop();
}
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench', 'results', 'latency.json'),
  JSON.stringify({ at: new Date().toISOString(), rttMs: RTT, runs: RUNS, results }, null, 2) + '\n',
);
