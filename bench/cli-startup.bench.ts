// Start-up of the compiled CLI (dist/, built by `npm run bench`): `mxdoctor --version`,
// `mxdoctor check --no-smtp` of a small fixture domain and `mxdoctor bounce` of one message
// (--json --no-followup: parsing and classifying, no network), beside a bare `node -e 0`. The
// commands run in turn, round after round, so that a load change on the machine hits them
// alike; the median wall time and the mean CPU time (user + system, from the kernel's account
// of reaped children) are printed. CPU time is the steadier figure on a busy machine.
//
//   npm run bench cli-startup
//   BASELINE=/path/to/another/checkout npm run bench cli-startup   # the same commands of that
//                                                                  # checkout's bin/, side by side
// Results also go to bench/results/cli-startup.json.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFixtureDns } from '../test/support/dns-server.js';
import { ROOT } from '../test/support/cli.js';

const ROUNDS = Number(process.env.ROUNDS ?? 25);
const TICK_MS = 10; // USER_HZ is 100 on Linux

if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
  console.log('cli-startup: dist/ is missing (run `npm run build`); skipped');
  process.exit(0);
}
const dns = await startFixtureDns({
  ad: true,
  zones: {
    'startup.test': {
      MX: ['10 mx.startup.test'],
      TXT: ['v=spf1 mx -all'],
      SOA: ['ns1.startup.test hostmaster.startup.test 1 3600 600 86400 300'],
    },
    'mx.startup.test': { A: ['127.0.0.71'] },
    '_dmarc.startup.test': { TXT: ['v=DMARC1; p=reject'] },
  },
});

/** CPU time of the reaped children of this process so far, in ms (Linux /proc; 0 elsewhere). */
function childrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17.
    return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
  } catch {
    return 0;
  }
}

interface Subject {
  name: string;
  argv: string[];
  wall: number[];
  cpu: number[];
}
const env = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  NO_COLOR: '1',
  MXDOCTOR_ALLOW_PRIVATE: '1',
  MXDOCTOR_DOMAIN_BLOCKLISTS: 'off',
};
const checkArgs = [
  'check',
  'startup.test',
  '--no-smtp',
  '--resolver',
  dns.address,
  '--dnsbl',
  'bl.startup.test',
];
const bounceArgs = [
  'bounce',
  join(ROOT, 'test', 'fixtures', 'bounces', 'postfix-starttls-required.eml'),
  '--json',
  '--no-followup',
];
const roots: [string, string][] = [['', ROOT]];
if (process.env.BASELINE) roots.unshift(['baseline ', process.env.BASELINE]);
const subjects: Subject[] = [{ name: 'node -e 0', argv: ['-e', '0'], wall: [], cpu: [] }];
for (const [label, root] of roots) {
  const bin = join(root, 'bin', 'mxdoctor.js');
  subjects.push({ name: `${label}mxdoctor --version`, argv: [bin, '--version'], wall: [], cpu: [] });
  subjects.push({ name: `${label}mxdoctor check --no-smtp`, argv: [bin, ...checkArgs], wall: [], cpu: [] });
  subjects.push({
    name: `${label}mxdoctor bounce (one file)`,
    argv: [bin, ...bounceArgs],
    wall: [],
    cpu: [],
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Runs one command (asynchronously: the fixture DNS in this process must keep answering). */
function run(s: Subject): Promise<void> {
  return new Promise((resolve, reject) => {
    const cpu0 = childrenCpuMs();
    const t0 = performance.now();
    const child = spawn(process.execPath, s.argv, { env, cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      s.wall.push(performance.now() - t0);
      s.cpu.push(childrenCpuMs() - cpu0);
      if (code !== 0 && code !== 1) reject(new Error(`${s.name} exited ${code}: ${stderr}`));
      else resolve();
    });
  });
}

try {
  for (const s of subjects) await run(s); // warm-up: disk cache
  for (const s of subjects) {
    s.wall.length = 0;
    s.cpu.length = 0;
  }
  for (let i = 0; i < ROUNDS; i++) for (const s of subjects) await run(s);
} finally {
  await dns.stop();
}
const rows = subjects.map((s) => ({
  command: s.name,
  wallMedianMs: Math.round(median(s.wall)),
  wallMinMs: Math.round(Math.min(...s.wall)),
  cpuMeanMs: Math.round(mean(s.cpu)),
}));
console.log(`CLI start-up, compiled dist/, ${ROUNDS} rounds (commands in turn):`);
for (const r of rows) {
  console.log(
    `  ${r.command.padEnd(36)} wall median ${String(r.wallMedianMs).padStart(4)} ms (min ${String(r.wallMinMs).padStart(4)})   CPU mean ${String(r.cpuMeanMs).padStart(4)} ms`,
  );
}
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench', 'results', 'cli-startup.json'),
  JSON.stringify({ at: new Date().toISOString(), rounds: ROUNDS, rows }, null, 2) + '\n',
);
