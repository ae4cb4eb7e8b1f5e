import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCheck } from '../../src/checks/run.js';
import { mxCheck } from '../../src/mx/check.js';
import { defineFindings } from '../../src/checks/findings.js';
import type { Check, LazyCheck, ProgressUpdate } from '../../src/checks/types.js';
import { loadConfig } from '../../src/config/index.js';
import { normalizeDomain } from '../../src/input/domain.js';
import { DEFAULT_CHECK_OPTIONS } from '../../src/report/model.js';
import type { MxSet } from '../../src/report/model.js';
import { sleep } from '../../src/net/deadline.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { MX_ZONES } from '../fixtures/zones/mx.js';

const T = defineFindings('test', {
  'test.ok': { title: 'Test', statuses: ['pass'], meaning: 'test' },
});

describe('check pipeline', () => {
  let dns: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({ zones: MX_ZONES });
  });
  after(async () => dns.stop());

  const config = (deadlineMs = 10_000) =>
    loadConfig(
      { MXDOCTOR_RESOLVERS: `127.0.0.1:${dns.port}`, MXDOCTOR_DNS_TIMEOUT: '300' },
      { check: { deadlineMs } },
    );
  const domain = (d: string) => {
    const r = normalizeDomain(d);
    if (!r.ok) throw new Error(r.error);
    return r.domain;
  };

  it('passes upstream data to dependent checks and keeps the others when one throws', async () => {
    let seen: MxSet | undefined;
    const dependent: Check = {
      name: 'dependent',
      title: 'Dependent',
      dependsOn: ['mx'],
      findings: T.specs,
      async run(ctx) {
        seen = ctx.upstream('mx');
        return { findings: [T.make('test.ok', 'pass', { summary: 'ok' })], data: { hosts: 2 } };
      },
    };
    const broken: Check = {
      name: 'broken',
      title: 'Broken check',
      findings: [],
      async run() {
        throw new TypeError('cannot read properties of undefined');
      },
    };
    const report = await runCheck(domain('two-mx.example.com'), DEFAULT_CHECK_OPTIONS, {
      config: config(),
      checks: [mxCheck, dependent, broken],
    });
    assert.equal(seen?.kind, 'mx');
    assert.deepEqual(report.data.dependent, { hosts: 2 });
    const err = report.checks.find((f) => f.id === 'pipeline.check_error')!;
    assert.equal(err.status, 'error');
    assert.match(err.summary, /Broken check stopped with an error: cannot read properties of undefined/);
    assert.ok(report.checks.some((f) => f.id === 'mx.records' && f.status === 'pass'));
    assert.ok(report.checks.some((f) => f.id === 'test.ok'));
  });

  it('turns a check that overruns the deadline into an error finding, on time', async () => {
    const slow: Check = {
      name: 'slow',
      title: 'Slow check',
      findings: [],
      async run() {
        await sleep(60_000); // ignores the signal on purpose
        return { findings: [] };
      },
    };
    const t0 = performance.now();
    const report = await runCheck(domain('two-mx.example.com'), DEFAULT_CHECK_OPTIONS, {
      config: config(500),
      checks: [mxCheck, slow],
    });
    assert.ok(performance.now() - t0 < 2000);
    const f = report.checks.find((x) => x.id === 'pipeline.deadline')!;
    assert.match(f.summary, /Slow check did not finish/);
    assert.ok(report.checks.some((x) => x.id === 'mx.records' && x.status === 'pass'));
  });

  it('ends a check that waits for a check it uses at the deadline, without running it', async () => {
    let ran = false;
    const stuck: Check = {
      name: 'smtp',
      title: 'SMTP',
      findings: [],
      run: () => new Promise(() => {}), // a tarpit that ignores the signal
    };
    const waiting: Check<unknown, string> = {
      name: 'waiting',
      title: 'Waiting',
      uses: ['smtp'],
      findings: [],
      gather: async () => 'gathered',
      run: async () => {
        ran = true;
        return { findings: [] };
      },
    };
    const t0 = performance.now();
    const report = await runCheck(domain('two-mx.example.com'), DEFAULT_CHECK_OPTIONS, {
      config: config(300),
      checks: [stuck, waiting as Check],
    });
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(ran, false);
    assert.deepEqual(
      report.checks.filter((f) => f.id === 'pipeline.deadline').map((f) => f.title),
      ['SMTP: timed out', 'Waiting: timed out'],
    );
  });

  it('skips checks whose dependency failed', async () => {
    const failing: Check = {
      name: 'mx',
      title: 'MX',
      findings: [],
      run: async () => Promise.reject(new Error('x')),
    };
    const dependent: Check = {
      name: 'b',
      title: 'B',
      dependsOn: ['mx'],
      findings: [],
      run: async () => ({ findings: [] }),
    };
    const report = await runCheck(domain('two-mx.example.com'), DEFAULT_CHECK_OPTIONS, {
      config: config(),
      checks: [failing, dependent],
    });
    assert.ok(
      report.checks.some(
        (f) => f.id === 'pipeline.dependency_failed' && /B was not run because mx failed/.test(f.summary),
      ),
    );
  });

  it('runs a check that only uses a failed check, without its data', async () => {
    let seen: unknown = 'not run';
    const failing: Check = {
      name: 'mx',
      title: 'MX',
      findings: [],
      run: async () => Promise.reject(new Error('x')),
    };
    const user: Check = {
      name: 'b',
      title: 'B',
      uses: ['mx'],
      findings: [],
      run: async (ctx) => {
        seen = ctx.upstream('mx');
        return { findings: [] };
      },
    };
    const report = await runCheck(domain('two-mx.example.com'), DEFAULT_CHECK_OPTIONS, {
      config: config(),
      checks: [failing, user],
    });
    assert.equal(seen, undefined);
    assert.ok(!report.checks.some((f) => f.id === 'pipeline.dependency_failed'));
  });

  it('starts gather when dependsOn finish, and run only when uses have finished too', async () => {
    const events: string[] = [];
    const mx: Check = {
      name: 'mx',
      title: 'MX',
      findings: [],
      run: async () => ({ findings: [], data: { kind: 'ok', hosts: [] } }),
    };
    const slow: Check = {
      name: 'smtp',
      title: 'SMTP',
      findings: [],
      run: async (ctx) => {
        await sleep(150, ctx.signal);
        events.push('smtp done');
        return { findings: [], data: { sessions: [] } };
      },
    };
    const joining: Check<unknown, string> = {
      name: 'joining',
      title: 'Joining',
      dependsOn: ['mx'],
      uses: ['smtp'],
      findings: [],
      gather: async (ctx) => {
        events.push(`gather (mx ${ctx.upstream('mx') ? 'known' : 'missing'})`);
        return 'gathered';
      },
      run: async (ctx, gathered) => {
        events.push(`run with ${gathered}, smtp ${ctx.upstream('smtp') ? 'known' : 'missing'}`);
        return { findings: [] };
      },
    };
    const early: Check = {
      name: 'early',
      title: 'Early',
      dependsOn: ['mx'],
      uses: ['smtp'],
      findings: [],
      gather: async (ctx) => ctx.upstream('smtp'),
      run: async () => ({ findings: [] }),
    };
    const report = await runCheck(domain('two-mx.example.com'), DEFAULT_CHECK_OPTIONS, {
      config: config(),
      checks: [mx, slow, joining as Check, early],
    });
    assert.deepEqual(events, ['gather (mx known)', 'smtp done', 'run with gathered, smtp known']);
    // Asking in gather for a check of `uses` is a mistake the pipeline reports, not a silent undefined.
    const error = report.checks.find((f) => f.id === 'pipeline.check_error');
    assert.match(
      error?.summary ?? '',
      /Early stopped with an error: .*upstream\('smtp'\) asked for in gather/,
    );
  });

  it('loads the code of lazy checks one at a time, in order, only when enabled; a failed load fails that check alone', async () => {
    const events: string[] = [];
    const ok = (name: string, extra: Partial<Check> = {}): Check => ({
      name,
      title: name,
      findings: T.specs,
      ...extra,
      run: async (ctx) => {
        events.push(`run ${name}${ctx.upstream('mx') ? ' after mx' : ''}`);
        return { findings: [T.make('test.ok', 'pass', { summary: name })], data: name };
      },
    });
    const lazy = (check: Check, loadMs: number): LazyCheck => ({
      name: check.name,
      title: check.title,
      ...(check.dependsOn ? { dependsOn: check.dependsOn } : {}),
      load: async () => {
        events.push(`load ${check.name}`);
        await sleep(loadMs);
        events.push(`loaded ${check.name}`);
        return check;
      },
    });
    const checks = [
      lazy(ok('mx'), 40),
      {
        name: 'off',
        title: 'Off',
        enabled: () => false,
        load: () => Promise.reject(new Error('a disabled check is not loaded')),
      },
      { name: 'broken', title: 'Broken', load: () => Promise.reject(new Error('Cannot find module x')) },
      lazy(ok('second', { dependsOn: ['mx'] }), 0),
      ok('whole'),
    ];
    const report = await runCheck(domain('two-mx.example.com'), DEFAULT_CHECK_OPTIONS, {
      config: config(),
      checks,
    });
    // A check given whole runs at once; each lazy one when its code is in, which is loaded
    // only after the previous one's.
    assert.deepEqual(events, [
      'run whole',
      'load mx',
      'loaded mx',
      'run mx',
      'load second',
      'loaded second',
      'run second after mx',
    ]);
    // Findings in the order of the list, whatever order the checks ran in; no error of the
    // disabled check, which was not loaded.
    assert.deepEqual(
      report.checks.slice(2).map((f) => `${f.id} ${f.summary}`),
      [
        'test.ok mx',
        'pipeline.check_error Broken stopped with an error: Cannot find module x. Other checks are unaffected.',
        'test.ok second',
        'test.ok whole',
      ],
    );
  });

  it('emits increasing progress ending at 100', async () => {
    const updates: ProgressUpdate[] = [];
    // Every check but SMTP: the fixture's MX addresses are public ones, never to be contacted.
    await runCheck(
      domain('two-mx.example.com'),
      { ...DEFAULT_CHECK_OPTIONS, smtp: false },
      {
        config: config(),
        onProgress: (u) => updates.push(u),
      },
    );
    assert.ok(updates.length >= 3);
    assert.ok(updates.some((u) => u.step === 'mx' && u.total === 2));
    for (let i = 1; i < updates.length; i++) assert.ok(updates[i]!.percent >= updates[i - 1]!.percent);
    assert.equal(updates.at(-1)!.percent, 100);
  });

  it('lets a check ask a hundred questions at once without a listener-leak warning', async () => {
    // A real check asks ~90 questions as it starts (DKIM selectors, DNSBL zones): each one
    // listens to the check's signal while it waits for a slot or its answer. That is by
    // design, not a leak, and must not print Node's MaxListenersExceededWarning per check.
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const names = Array.from({ length: 100 }, (_, i) => `s${i}._domainkey.two-mx.example.com`);
    let answered = 0;
    const fanOut: Check = {
      name: 'fan-out',
      title: 'Fan-out',
      findings: [],
      run: async (ctx) => {
        const answers = await Promise.all(names.map((n) => ctx.dns.query(n, 'TXT')));
        answered = answers.filter((a) => a.rcode === 'NXDOMAIN' || a.rcode === 'NOERROR').length;
        return { findings: [] };
      },
    };
    try {
      await runCheck(domain('two-mx.example.com'), DEFAULT_CHECK_OPTIONS, {
        config: config(),
        checks: [fanOut],
      });
      await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
    } finally {
      process.off('warning', onWarning);
    }
    assert.equal(answered, names.length);
    assert.deepEqual(
      warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
      [],
    );
  });

  it('rejects when the caller cancels', async () => {
    const controller = new AbortController();
    const slow: Check = {
      name: 'slow',
      title: 'Slow',
      findings: [],
      run: (ctx) => sleep(60_000, ctx.signal).then(() => ({ findings: [] })),
    };
    setTimeout(() => controller.abort(new Error('job cancelled')), 100);
    await assert.rejects(
      runCheck(domain('two-mx.example.com'), DEFAULT_CHECK_OPTIONS, {
        config: config(),
        checks: [slow],
        signal: controller.signal,
      }),
      /job cancelled/,
    );
  });
});
