import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, TEST_CACHE_HOME, runMxdoctor } from '../support/cli.js';

describe('mxdoctor command line', () => {
  it('documents every option in --help', async () => {
    const r = await runMxdoctor(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /check \[options\] \[domain\]/);
    const c = await runMxdoctor(['check', '--help']);
    assert.equal(c.code, 0);
    for (const flag of [
      '--json',
      '--resolver',
      '--allow-private',
      '--timeout',
      '--verbose',
      '--file',
      '--csv',
      'Exit codes',
    ]) {
      assert.ok(c.stdout.includes(flag), `check --help mentions ${flag}`);
    }
  });

  it('prints its version from the compiled build', async () => {
    const r = await runMxdoctor(['--version'], { compiled: true });
    assert.equal(r.code, 0);
    assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
  });

  const badInputs: [string, string[], RegExp][] = [
    ['an empty domain', ['check', ''], /No domain was given/],
    ['an IP address', ['check', '192.0.2.1'], /IP address/],
    ['a URL', ['check', 'https://example.com/'], /URL/],
    ['a single label', ['check', 'localhost'], /single label/],
    ['a label over 63 octets', ['check', `${'a'.repeat(64)}.com`], /limit is 63/],
    ['illegal characters', ['check', 'ex!ample.com'], /not allowed/],
    [
      'an over-long name',
      ['check', `${Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')}.com`],
      /253/,
    ],
    [
      'a bad resolver flag',
      ['check', 'example.com', '--resolver', 'dns.example'],
      /--resolver: "dns.example" is not a resolver address/,
    ],
    [
      'a bad timeout',
      ['check', 'example.com', '--timeout', 'forever'],
      /--timeout="forever" is not a duration/,
    ],
    [
      '--dnsbl off, which would silently mean the default list',
      ['check', 'example.com', '--dnsbl', 'off'],
      /to query none, set MXDOCTOR_DNSBLS=off/,
    ],
    ['an unknown option', ['check', 'example.com', '--frobnicate'], /unknown option '--frobnicate'/],
    ['a missing domain', ['check'], /missing required argument 'domain'/],
    ['an unknown command', ['chekc', 'example.com'], /unknown command 'chekc'/],
  ];
  for (const [name, args, message] of badInputs) {
    it(`exits 2 with a clear message for ${name}`, async () => {
      const r = await runMxdoctor(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  // `mxdoctor … | head`: the reader closes its end before the command has written everything.
  for (const compiled of [false, true]) {
    it(`ends quietly when its output's reader goes away (${compiled ? 'bundle' : 'sources'})`, async () => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'mxdoctor.js'), 'bounce', '--no-followup'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          XDG_CACHE_HOME: TEST_CACHE_HOME,
          ...(compiled ? {} : { MXDOCTOR_FROM_SOURCE: '1' }),
        },
      });
      child.stdout.destroy(); // the reader is gone before the first byte
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdin.end('550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown\n');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, stderr);
      assert.equal(stderr, '', 'no EPIPE, no stack trace');
    });
  }

  it('exits 2 naming the variable when the environment is invalid', async () => {
    const r = await runMxdoctor(['check', 'example.com'], { env: { MXDOCTOR_DNS_TIMEOUT: 'soon' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /MXDOCTOR_DNS_TIMEOUT="soon" is not a duration/);
  });
});
