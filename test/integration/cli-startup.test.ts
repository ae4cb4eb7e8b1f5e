import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ROOT, runMxdoctor } from '../support/cli.js';
import type { CliResult } from '../support/cli.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { freePort, startSmtpFake } from '../support/smtp-fakes.js';
import type { SmtpFake } from '../support/smtp-fakes.js';
import { createTestPki } from '../support/test-ca.js';

/**
 * What the command line loads: `mxdoctor --version` none of the engine, and `mxdoctor check`
 * none of the service (web server, queue, Redis client, logging, metrics, templates) nor the
 * bounce parser; a command's own module neither zod nor the configuration, which its action
 * loads; and the check engine's entry module only what its first DNS query needs, so that the
 * query goes out before the checks load. The child process runs with a module tracer
 * (test/support/module-trace.mjs) that lists every file it loads; the packages are read from
 * those paths, and for the bundle in dist/cli/ (scripts/bundle-cli.mjs) from the modules each
 * bundle file it runs evaluates at once (dist/cli/bundle.json) and those it evaluates on
 * demand, which the tracer sees as they run. A behaviour test: it fails when a static import
 * drags a package or module into a path that does not need it.
 */
const FENCE = pathToFileURL(join(ROOT, 'test', 'support', 'network-fence.mjs')).href;
const TRACER = pathToFileURL(join(ROOT, 'test', 'support', 'module-trace.mjs')).href;

/** Packages of the service and of bounce parsing: `check` uses none of them. */
const SERVICE_PACKAGES = [
  'express',
  'express-rate-limit',
  'helmet',
  'eta',
  'busboy',
  'bullmq',
  'ioredis',
  'rate-limit-redis',
  'pino',
  'pino-http',
  'prom-client',
  'cron-parser',
  '@bull-board/api',
  '@bull-board/express',
  'nodemailer',
];

const dependencies = Object.keys(
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> })
    .dependencies,
);

const BUNDLE = join(ROOT, 'dist', 'cli');
/** Per file of the bundle, when it is built (`npm run build`): the modules it evaluates as it runs, and on demand. */
const bundleInputs: Record<string, { eager: string[]; lazy: string[] }> | undefined = existsSync(
  join(BUNDLE, 'bundle.json'),
)
  ? (
      JSON.parse(readFileSync(join(BUNDLE, 'bundle.json'), 'utf8')) as {
        files: Record<string, { eager: string[]; lazy: string[] }>;
      }
    ).files
  : undefined;

let dir: string;
let runs = 0;

/** What a traced process loaded: project dependencies, project modules (src/…, no extension), files. */
interface Loaded {
  packages: Set<string>;
  modules: Set<string>;
  files: string[];
}

/**
 * Reads a tracer's file. A bundle file that ran counts with the modules it evaluates as it
 * runs; the modules it evaluates on demand count as the tracer saw them run ("init").
 */
function readTrace(trace: string): Loaded {
  const paths: string[] = [];
  const files: string[] = [];
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const kind = line.slice(0, line.indexOf(' '));
    const where = line.slice(line.indexOf(' ') + 1);
    if (kind === 'init') {
      paths.push(where);
      continue;
    }
    const path = where.startsWith('file:') ? fileURLToPath(where) : where;
    files.push(path);
    const file = kind === 'bundle' ? bundleInputs?.[path.slice(BUNDLE.length + 1)] : undefined;
    paths.push(...(file?.eager ?? [path]));
  }
  const loaded: Loaded = { packages: new Set(), modules: new Set(), files };
  for (const path of paths) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (m && dependencies.includes(m[1]!)) loaded.packages.add(m[1]!);
    const src = /(?:^|\/)(?:dist\/)?(src\/.+)\.[jt]s$/.exec(path);
    if (src && !path.includes('node_modules')) loaded.modules.add(src[1]!);
  }
  return loaded;
}

/** Runs mxdoctor with the tracer; returns its result and what it loaded. */
async function traced(
  args: string[],
  env: Record<string, string> = {},
  options: { compiled?: boolean } = {},
): Promise<{ r: CliResult } & Loaded> {
  const trace = join(dir, `trace-${runs++}.txt`);
  writeFileSync(trace, '');
  const r = await runMxdoctor(args, {
    ...options,
    env: { NODE_OPTIONS: `--import=${FENCE} --import=${TRACER}`, MXDOCTOR_TRACE_MODULES: trace, ...env },
  });
  return { r, ...readTrace(trace) };
}

/** Imports one module of the sources (through tsx) in a traced process; returns what it loaded. */
function tracedImport(module: string): Promise<Loaded> {
  const trace = join(dir, `trace-${runs++}.txt`);
  writeFileSync(trace, '');
  const url = pathToFileURL(join(ROOT, module)).href;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        FENCE,
        '--import',
        TRACER,
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(url)});`,
      ],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', MXDOCTOR_TRACE_MODULES: trace },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(readTrace(trace)) : reject(new Error(`exit ${code}: ${stderr}`)),
    );
  });
}

describe('what the command line loads', () => {
  let dns: FixtureDns;
  let fake: SmtpFake;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mxdoctor-startup-'));
    const pki = createTestPki();
    const leaf = pki.leaf({ names: ['mx.startup.test'] });
    writeFileSync(join(dir, 'ca.pem'), pki.root.certPem);
    port = await freePort();
    fake = await startSmtpFake({
      host: '127.0.0.91',
      port,
      name: 'mx.startup.test',
      domains: ['startup.test'],
      users: ['alice'],
      tls: { key: leaf.keyPem, cert: leaf.chainPem },
    });
    dns = await startFixtureDns({
      zones: {
        'startup.test': {
          MX: ['10 mx.startup.test'],
          TXT: ['v=spf1 mx -all'],
          SOA: ['ns1.startup.test hostmaster.startup.test 1 3600 600 86400 300'],
        },
        'mx.startup.test': { A: ['127.0.0.91'] },
      },
    });
  });
  after(async () => {
    fake?.assertNoMessageSent();
    await fake?.stop();
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // The same behaviour from the sources (tsx) and from the bundle that bin/mxdoctor.js runs.
  for (const build of ['sources', 'bundle'] as const) {
    const compiled = build === 'bundle';
    const skip = compiled && !bundleInputs ? 'dist/cli/ is not built (npm run build)' : false;

    it(
      `${build}: --version loads the argument parser and nothing else of the project’s dependencies`,
      { skip },
      async () => {
        const { r, packages, modules } = await traced(['--version'], {}, { compiled });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
        assert.deepEqual([...packages].sort(), ['commander']);
        assert.ok(modules.has('src/cli/main'), 'the trace shows the command line itself');
      },
    );

    it(
      `${build}: a command’s own module loads neither zod nor the configuration (its action does)`,
      { skip },
      async () => {
        for (const command of ['check', 'bounce']) {
          const { r, packages, modules } = await traced([command, '--help'], {}, { compiled });
          assert.equal(r.code, 0, r.stderr);
          assert.ok(modules.has(`src/cli/${command}`), `the trace shows src/cli/${command}`);
          assert.deepEqual([...packages].sort(), ['commander'], `${command} --help`);
          const config = [...modules].filter(
            (m) => m.startsWith('src/config/') && m !== 'src/config/parse' && m !== 'src/config/environment',
          );
          assert.deepEqual(config, [], `${command} --help loaded the configuration's declarations`);
        }
      },
    );

    it(
      `${build}: check, with and without SMTP, loads none of the service or bounce packages`,
      { skip },
      async () => {
        const env = {
          MXDOCTOR_ALLOW_PRIVATE: '1',
          MXDOCTOR_SMTP_PORT: String(port),
          MXDOCTOR_CA_FILE: join(dir, 'ca.pem'),
          MXDOCTOR_DOMAIN_BLOCKLISTS: 'off',
        };
        const common = [
          'check',
          'startup.test',
          '--json',
          '--resolver',
          dns.address,
          '--dnsbl',
          'bl.startup.test',
        ];
        const probed = fake.connections;
        for (const extra of [['--no-smtp'], ['--verify', 'alice@startup.test']]) {
          const { r, packages, modules } = await traced([...common, ...extra], env, { compiled });
          const report = JSON.parse(r.stdout) as { mx: { hosts: unknown[] }; data: Record<string, unknown> };
          assert.equal(report.mx.hosts.length, 1, 'the check ran');
          if (extra[0] !== '--no-smtp') {
            const smtp = report.data.smtp as { tls: { handshake: string }[] };
            assert.equal(smtp.tls[0]?.handshake, 'ok', 'the SMTP and TLS path ran');
          }
          // The tracer sees what the check does load: otherwise this test could not fail.
          for (const used of ['commander', 'zod', 'dns2', 'tldts'])
            assert.ok(packages.has(used), `the trace shows ${used}`);
          const unwanted = SERVICE_PACKAGES.filter((p) => packages.has(p));
          assert.deepEqual(unwanted, [], `check ${extra.join(' ')} loaded ${unwanted.join(', ')}`);
          const bounce = [...modules].filter((m) => m.startsWith('src/bounce/'));
          assert.deepEqual(bounce, [], `check ${extra.join(' ')} loaded the bounce parser`);
        }
        assert.ok(fake.connections > probed, 'the SMTP fake was probed');
      },
    );

    it(
      `${build}: bounce loads none of the service packages, and without follow-ups not the check engine`,
      { skip },
      async () => {
        const file = join(ROOT, 'test', 'fixtures', 'bounces', 'postfix-starttls-required.eml');
        const { r, packages, modules } = await traced(
          ['bounce', file, '--no-followup', '--json'],
          {},
          { compiled },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.ok(
          (JSON.parse(r.stdout) as { bounces: unknown[] }).bounces.length > 0,
          'the bounce was diagnosed',
        );
        assert.ok(modules.has('src/bounce/classify'), 'the trace shows the bounce parser');
        assert.deepEqual(
          SERVICE_PACKAGES.filter((p) => packages.has(p)),
          [],
        );
        const engine = [...modules].filter((m) => /^src\/(checks|mx|dns)\//.test(m));
        assert.deepEqual(engine, [], 'bounce --no-followup loaded the check engine');
      },
    );

    it(
      `${build}: bounce without follow-ups, its size limit unset, loads neither zod nor the configuration`,
      { skip },
      async () => {
        const file = join(ROOT, 'test', 'fixtures', 'bounces', 'postfix-starttls-required.eml');
        const folder = join(ROOT, 'test', 'fixtures', 'bounces', 'producers');
        for (const args of [[file, '--no-followup'], [folder]]) {
          const { r, packages, modules } = await traced(['bounce', ...args, '--json'], {}, { compiled });
          assert.ok(r.code === 0 || r.code === 1, r.stderr);
          assert.ok(modules.has('src/bounce/classify'), 'the trace shows the bounce parser');
          assert.ok(!packages.has('zod'), `bounce ${args.join(' ')} loaded zod`);
          assert.ok(!modules.has('src/config/settings'), `bounce ${args.join(' ')} loaded the configuration`);
        }
        // With the limit set, the configuration is loaded to read and validate it.
        const { packages, modules } = await traced(
          ['bounce', file, '--no-followup', '--json'],
          { MXDOCTOR_BOUNCE_MAX_SIZE: '1M' },
          { compiled },
        );
        assert.ok(packages.has('zod') && modules.has('src/config/settings'), 'the configuration was loaded');
      },
    );

    it(`${build}: bounce from a pipe loads none of the service packages`, { skip }, async () => {
      const { r, packages } = await traced(['bounce', '--no-followup', '--json'], {}, { compiled });
      // No input given on a pipe: standard input is empty, a usage error after the parser loaded.
      assert.equal(r.code, 2, r.stderr);
      const unwanted = SERVICE_PACKAGES.filter((p) => packages.has(p));
      assert.deepEqual(unwanted, []);
    });
  }

  it('the check engine’s entry module loads what the first DNS query needs, not the checks', async () => {
    // src/checks/run.ts sends the MX questions before it loads the checks and the report's
    // assembly; whatever it imports statically loads before that query can go out.
    const { packages, modules } = await tracedImport('src/checks/run.ts');
    for (const needed of ['src/checks/run', 'src/dns/client', 'src/mx/lookups'])
      assert.ok(modules.has(needed), `the trace shows ${needed}`);
    const late = [...modules].filter((m) =>
      /^src\/(checks\/(registry|assemble|core|types)|report\/model|config\/settings|smtp\/|tls\/|spf\/|dmarc\/)/.test(
        m,
      ),
    );
    assert.deepEqual(late, [], 'loaded before the first DNS query');
    assert.deepEqual(
      [...packages].filter((p) => p !== 'dns2'),
      [],
    );
  });

  it(
    'bin/mxdoctor.js runs the one-shot commands from the bundle and the service from tsc’s output',
    { skip: bundleInputs ? false : 'dist/cli/ is not built (npm run build)' },
    async () => {
      const fromBundle = (files: string[]) => files.some((f) => f.startsWith(BUNDLE + '/'));
      const fromTsc = (files: string[]) => files.includes(join(ROOT, 'dist', 'src', 'cli', 'main.js'));
      const check = await traced(['check', '--help'], {}, { compiled: true });
      assert.equal(check.r.code, 0, check.r.stderr);
      assert.ok(fromBundle(check.files) && !fromTsc(check.files), 'check runs from dist/cli/');
      for (const service of ['serve', 'web', 'worker']) {
        const { r, files } = await traced([service, '--help'], {}, { compiled: true });
        assert.equal(r.code, 0, r.stderr);
        assert.ok(fromTsc(files) && !fromBundle(files), `${service} runs from dist/src/`);
      }
    },
  );

  it(
    'the bundle holds none of the service',
    { skip: bundleInputs ? false : 'dist/cli/ is not built (npm run build)' },
    () => {
      const all = Object.values(bundleInputs ?? {}).flatMap((f) => [...f.eager, ...f.lazy]);
      assert.ok(
        all.some((m) => m.includes('src/checks/run')),
        'the bundle holds the check engine',
      );
      const service = all.filter((m) => /(^|\/)src\/(server|web|queue|store|metrics|log)\//.test(m));
      assert.deepEqual(service, []);
    },
  );
});
