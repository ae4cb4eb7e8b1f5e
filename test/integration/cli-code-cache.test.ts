import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runMxdoctor } from '../support/cli.js';

/**
 * The command line's bundle runs with V8's code cache (src/cli/bundle-loader.ts): the first run
 * of a command leaves a cache of each bundle file in the user's cache directory, later runs
 * compile from it, and nothing about the cache can change what a command does. Seen from
 * outside: the files in $XDG_CACHE_HOME/mxdoctor/v8, their modes, and whether a run rewrote
 * them (a cache V8 rejects is written again).
 */
const BUILT = existsSync(join(ROOT, 'dist', 'cli', 'bundle.json'));
const skip = BUILT ? false : 'dist/cli/ is not built (npm run build)';
const BOUNCE = join(ROOT, 'test', 'fixtures', 'bounces', 'postfix-starttls-required.eml');

let dir: string;
let runs = 0;

/** A fresh cache home for one case. */
function cacheHome(): string {
  const home = join(dir, `home-${runs++}`);
  mkdirSync(home, { mode: 0o700 });
  return home;
}

/** The cache files under a cache home, with their modification times. */
function caches(home: string): Map<string, number> {
  const v8 = join(home, 'mxdoctor', 'v8');
  if (!existsSync(v8)) return new Map();
  return new Map(readdirSync(v8).map((name) => [name, statSync(join(v8, name)).mtimeMs]));
}

const bounce = (home: string, args = [BOUNCE, '--no-followup', '--json']) =>
  runMxdoctor(['bounce', ...args], { compiled: true, env: { XDG_CACHE_HOME: home } });

describe('the command line’s code cache', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mxdoctor-code-cache-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'a first run leaves a cache per bundle file, private to the user, that later runs use',
    { skip },
    async () => {
      const home = cacheHome();
      const first = await bounce(home);
      assert.equal(first.code, 0, first.stderr);
      const written = caches(home);
      assert.deepEqual([...written.keys()].map((n) => n.slice(0, n.indexOf('.cjs-') + 4)).sort(), [
        'bounce.cjs',
        'main.cjs',
      ]);
      assert.equal(statSync(join(home, 'mxdoctor', 'v8')).mode & 0o777, 0o700);
      for (const name of written.keys())
        assert.equal(statSync(join(home, 'mxdoctor', 'v8', name)).mode & 0o777, 0o600, name);
      const second = await bounce(home);
      assert.equal(second.stdout, first.stdout, 'the same diagnosis');
      assert.deepEqual(caches(home), written, 'V8 took the caches: none was written again');
    },
  );

  it(
    'a mailbox run, which changes V8’s flags, leaves a cache that its next run takes',
    { skip },
    async () => {
      const home = cacheHome();
      const box = join(dir, `box-${runs++}`);
      mkdirSync(box);
      copyFileSync(BOUNCE, join(box, 'one.eml'));
      const first = await bounce(home, [box, '--json']);
      assert.equal(first.code, 0, first.stderr);
      const written = caches(home);
      assert.equal(written.size, 2);
      const second = await bounce(home, [box, '--json']);
      assert.equal(second.stdout, first.stdout);
      assert.deepEqual(caches(home), written, 'written before the flags changed, so V8 took it');
    },
  );

  it(
    'a run that stops at an input error leaves no cache: the next run that does its work writes it',
    { skip },
    async () => {
      const home = cacheHome();
      const refused = await bounce(home, [join(dir, 'no-such-file.eml'), '--no-followup']);
      assert.equal(refused.code, 2, refused.stderr);
      assert.deepEqual(
        [...caches(home).keys()],
        [],
        'a cache of the error path alone would be every later run’s',
      );
      const done = await bounce(home);
      assert.equal(done.code, 0, done.stderr);
      assert.equal(caches(home).size, 2);
    },
  );

  it('a damaged cache changes nothing but the speed, and is written anew', { skip }, async () => {
    const home = cacheHome();
    const clean = await bounce(home);
    const written = caches(home);
    for (const name of written.keys()) writeFileSync(join(home, 'mxdoctor', 'v8', name), 'not a code cache');
    const damaged = await bounce(home);
    assert.equal(damaged.code, 0, damaged.stderr);
    assert.equal(damaged.stdout, clean.stdout);
    for (const [name, mtime] of caches(home)) {
      assert.ok(mtime > written.get(name)!, `${name} was written again`);
      assert.ok(statSync(join(home, 'mxdoctor', 'v8', name)).size > 1000, `${name} is a cache again`);
    }
  });

  it(
    'the help, which imports the service’s commands from dist/src/, works from a cache',
    { skip },
    async () => {
      const home = cacheHome();
      for (const run of ['without', 'with']) {
        const r = await runMxdoctor(['--help'], { compiled: true, env: { XDG_CACHE_HOME: home } });
        assert.equal(r.code, 0, `${run} a cache: ${r.stderr}`);
        assert.match(r.stdout, /^ {2}serve\b/m, `${run} a cache`);
        assert.equal(r.stderr, '', `${run} a cache`);
      }
      // The help needs every command (the list, the suggestions): each file has its cache.
      const files = Object.keys(
        (JSON.parse(readFileSync(join(ROOT, 'dist', 'cli', 'bundle.json'), 'utf8')) as { files: object })
          .files,
      );
      assert.deepEqual(
        [...caches(home).keys()].map((n) => n.slice(0, n.indexOf('.cjs-') + 4)).sort(),
        files.sort(),
      );
    },
  );

  it('a cache directory others can write to is not used', { skip }, async () => {
    const home = cacheHome();
    mkdirSync(join(home, 'mxdoctor', 'v8'), { recursive: true });
    chmodSync(join(home, 'mxdoctor', 'v8'), 0o777);
    const r = await bounce(home);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((JSON.parse(r.stdout) as { bounces: unknown[] }).bounces.length > 0);
    assert.deepEqual([...caches(home).keys()], [], 'no bytecode where others could replace it');
  });

  it('runs without a cache directory to write to', { skip }, async () => {
    const home = cacheHome();
    writeFileSync(join(home, 'mxdoctor'), 'a file where the directory would be');
    const r = await bounce(home);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((JSON.parse(r.stdout) as { bounces: unknown[] }).bounces.length > 0);
  });
});
