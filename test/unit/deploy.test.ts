import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SETTINGS } from '../../src/config/index.js';
import { CHECK_PROCESS_NODE_FLAGS } from '../../src/server/heap.js';
import { ROOT, runMxdoctor } from '../support/cli.js';

/**
 * Docker is not available on these machines, so the deployment files are checked for
 * structure here and kept in step with the real start commands and settings.
 */
interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  container_name?: string;
  profiles?: string[];
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const defaultOf = (env: string) => SETTINGS.find((s) => s.env === env)!.default();
const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1]);

describe('docker-compose.yml', () => {
  it('runs Redis with append-only persistence on a volume, with a healthcheck', () => {
    const redis = compose.services.redis!;
    assert.deepEqual(redis.command?.slice(0, 3), ['redis-server', '--appendonly', 'yes']);
    assert.ok(redis.volumes?.some((v) => v.endsWith(':/data')));
    assert.ok(Object.keys(compose.volumes).includes(redis.volumes![0]!.split(':')[0]!));
    assert.deepEqual(redis.healthcheck?.test, ['CMD', 'redis-cli', 'ping']);
  });

  // A process that runs checks starts node with the heap settings of src/server/heap.ts.
  const node = (runsChecks: boolean) => ['node', ...(runsChecks ? CHECK_PROCESS_NODE_FLAGS : [])];
  for (const [name, role, runsChecks] of [
    ['web', 'web', false],
    ['worker', 'worker', true],
  ] as const) {
    it(`runs the ${name} with the real start command, after Redis is healthy`, () => {
      const s = compose.services[name]!;
      assert.deepEqual(s.command, [role]);
      assert.deepEqual(s.entrypoint ?? ['node', 'bin/mxdoctor.js'], [...node(runsChecks), 'bin/mxdoctor.js']);
      assert.equal(
        pkg.scripts[role],
        [...node(runsChecks), 'bin/mxdoctor.js', role].join(' '),
        `npm run ${role} is the same command`,
      );
      assert.equal(s.environment?.REDIS_URL, 'redis://redis:6379');
      assert.equal(s.depends_on?.redis?.condition, 'service_healthy');
      assert.ok(s.healthcheck?.test.join(' ').includes('/readyz'));
      assert.ok(seconds(s.stop_grace_period ?? '') * 1000 > (defaultOf('MXDOCTOR_SHUTDOWN_GRACE') as number));
      for (const key of Object.keys(s.environment ?? {})) {
        assert.ok(
          SETTINGS.some((x) => x.env === key),
          `${key} is a documented setting`,
        );
      }
    });
  }

  it('serves the web on the port the app listens on', () => {
    const web = compose.services.web!;
    assert.equal(web.environment?.PORT, String(defaultOf('PORT')));
    assert.ok(web.ports?.some((p) => p.endsWith(':3000')));
    assert.ok(web.healthcheck?.test.join(' ').includes('127.0.0.1:3000/readyz'));
  });

  it('lets the worker scale (--scale worker=N): no fixed name, no host port', () => {
    const worker = compose.services.worker!;
    assert.equal(worker.container_name, undefined);
    assert.equal(worker.ports, undefined);
    assert.equal(worker.environment?.MXDOCTOR_WORKER_PORT, String(defaultOf('MXDOCTOR_WORKER_PORT')));
    assert.ok(
      worker.healthcheck?.test
        .join(' ')
        .includes(`127.0.0.1:${String(defaultOf('MXDOCTOR_WORKER_PORT'))}/readyz`),
    );
  });

  it('runs SpamAssassin (Debian spamd on 783) for the inbound test, on demand, and passes its address on', () => {
    const sa = compose.services.spamassassin! as ComposeService & { build?: { dockerfile_inline?: string } };
    assert.deepEqual(sa.profiles, ['spamassassin']);
    const dockerfile = sa.build?.dockerfile_inline ?? '';
    assert.match(dockerfile, /^FROM debian:/m);
    assert.match(dockerfile, /apt-get install[^\n]* spamassassin spamd/);
    assert.match(dockerfile, /--listen=0\.0\.0\.0:783/);
    assert.deepEqual(sa.healthcheck?.test, ['CMD', 'spamc', '-K']);
    for (const name of ['web', 'worker']) {
      const env = compose.services[name]!.environment ?? {};
      for (const key of ['MXDOCTOR_INBOUND_LISTEN', 'MXDOCTOR_INBOUND_DOMAIN', 'MXDOCTOR_SPAMD'])
        assert.ok(key in env, `${name} gets ${key}`);
    }
  });

  it('names only start commands that the CLI has', async () => {
    const help = await runMxdoctor(['--help']);
    for (const command of ['serve', 'web', 'worker', 'check'])
      assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    assert.equal(pkg.scripts.start, [...node(true), 'bin/mxdoctor.js', 'serve'].join(' '));
  });
});

describe('Dockerfile', () => {
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages.at(-1)!;

  it('is multi-stage: builds with dev dependencies, ships only runtime ones', () => {
    assert.ok(stages.length >= 2);
    assert.match(stages[0]!, /npm ci\b/);
    assert.match(stages[0]!, /npm run build/);
    assert.match(runtime, /npm ci --omit=dev/);
    assert.match(runtime, /COPY --from=build \/app\/dist \.\/dist/);
  });

  it('runs as a non-root user with the real entry point', () => {
    const user = /^USER (\S+)/m.exec(runtime)?.[1];
    assert.ok(user && user !== 'root' && user !== '0', `USER ${user}`);
    assert.ok(runtime.indexOf('USER') > runtime.lastIndexOf('RUN '), 'USER comes after the last RUN');
    assert.match(runtime, /^ENTRYPOINT \["node", "bin\/mxdoctor\.js"\]$/m);
    assert.match(runtime, /^CMD \["serve"\]$/m);
    assert.match(runtime, /^EXPOSE 3000 3001$/m);
  });

  it('copies everything the service reads at run time, and the build inputs exist', () => {
    for (const dir of ['bin', 'views', 'docs']) {
      assert.match(runtime, new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
      assert.ok(existsSync(join(ROOT, dir)));
    }
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      include: string[];
    };
    for (const dir of build.include) assert.match(stages[0]!, new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
    // The scripts `npm run build` runs besides tsc (the CLI bundle) are build inputs too.
    const scripts = [...(pkg.scripts.build ?? '').matchAll(/\bnode (scripts\/\S+)/g)].map((m) => m[1]!);
    for (const file of scripts) {
      assert.match(stages[0]!, new RegExp(`^COPY ${file} \\./${file}$`, 'm'));
      assert.ok(existsSync(join(ROOT, file)), file);
    }
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const path of ['node_modules', 'dist', 'data'])
      assert.ok(ignored.includes(path), `.dockerignore has ${path}`);
  });
});

describe('README quick start', () => {
  it('starts the service with its first command and tests with its second', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = block
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => l.replace(/\s+#.*$/, '').trim());
    assert.deepEqual(commands, ['npm ci && npm start', 'npm test']);
    assert.match(block, /http:\/\/localhost:3000/);
    assert.equal(String(defaultOf('PORT')), '3000');
  });
});
