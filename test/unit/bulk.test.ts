import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { domainList, listLines } from '../../src/input/list.js';
import { csvField } from '../../src/report/bulk.js';
import { MemoryAddressLimiter, MemoryConnectionCache } from '../../src/smtp/memory.js';

describe('lists (input/list.ts)', () => {
  it('skips comments, blank lines and a CSV header, and keeps line numbers', () => {
    const { entries, invalid } = listLines(
      'domain,owner\n# comment\n\nexample.com , Alice\r\n  "b.example"  # note\nc#d.example\n',
    );
    assert.deepEqual(entries, [
      { line: 4, text: 'example.com' },
      { line: 5, text: 'b.example' },
      { line: 6, text: 'c#d.example' },
    ]);
    assert.deepEqual(invalid, []);
  });

  it('reports invalid lines, duplicates (by domain, addresses included) and goes on', () => {
    const r = domainList('example.com\nnot valid\nBOB@Example.COM.\nbücher.example\n192.0.2.1\n');
    assert.deepEqual(
      r.domains.map((d) => [d.line, d.domain.ascii]),
      [
        [1, 'example.com'],
        [4, 'xn--bcher-kva.example'],
      ],
    );
    assert.deepEqual(
      r.invalid.map((i) => i.line),
      [2, 5],
    );
    assert.deepEqual(r.duplicates, [{ line: 3, text: 'BOB@Example.COM.', of: 1 }]);
  });

  it('bounds line length and the number of entries', () => {
    const r = listLines(`${'a'.repeat(2000)}\na.example\nb.example\nc.example`, {
      maxEntries: 2,
      maxLineLength: 1024,
    });
    assert.deepEqual(
      r.entries.map((e) => e.text),
      ['a.example', 'b.example'],
    );
    assert.deepEqual(
      r.invalid.map((i) => [i.line, i.error]),
      [
        [1, 'longer than 1024 characters'],
        [4, 'more than 2 entries; the rest of the list was not read'],
      ],
    );
  });
});

describe('CSV fields', () => {
  it('quotes separators, quotes and line breaks, and defuses formulas', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"\n'), '"say ""hi""\n"');
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvField(-3), '-3');
    assert.equal(csvField(null), '');
  });
});

describe('in-process SMTP sharing (smtp/memory.ts)', () => {
  it('lets one prober of a key probe while the others wait for its entry (single flight)', async () => {
    const cache = new MemoryConnectionCache();
    const signal = new AbortController().signal;
    const first = await cache.claim('k', 5000, signal);
    assert.ok('release' in first);
    const waiting = [cache.claim('k', 5000, signal), cache.claim('k', 5000, signal)];
    await cache.set('k', { banner: 220 }, 60_000);
    first.release();
    const got = await Promise.all(waiting);
    assert.deepEqual(
      got.map((c) => ('entry' in c ? c.entry.value : 'claimed')),
      [{ banner: 220 }, { banner: 220 }],
    );
  });

  it('hands the claim to one waiter when the prober stored nothing, and expires entries', async () => {
    let now = 1_000_000;
    const cache = new MemoryConnectionCache({ now: () => now });
    const signal = new AbortController().signal;
    const first = await cache.claim('k', 5000, signal);
    const a = cache.claim('k', 5000, signal);
    const b = cache.claim('k', 5000, signal);
    if ('release' in first) first.release();
    const ca = await a;
    assert.ok('release' in ca, 'the next waiter probes');
    await cache.set('k', 1, 1000);
    ca.release();
    assert.ok('entry' in (await b));
    now += 1001;
    assert.equal(await cache.get('k'), undefined);
  });

  it('stops waiting when the signal aborts', async () => {
    const cache = new MemoryConnectionCache();
    const held = await cache.claim('k', 60_000, new AbortController().signal);
    const ac = new AbortController();
    const waiting = cache.claim('k', 60_000, ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
    if ('release' in held) held.release();
  });

  it('limits session starts per address per window as well as concurrency, and counts them', async () => {
    let now = 0;
    const limiter = new MemoryAddressLimiter({
      maxConcurrent: 5,
      rate: { points: 2, windowMs: 60 },
      now: () => now,
    });
    const signal = new AbortController().signal;
    (await limiter.acquire('192.0.2.1', signal))();
    (await limiter.acquire('192.0.2.1', signal))();
    (await limiter.acquire('192.0.2.2', signal))();
    let third = false;
    const pending = limiter.acquire('192.0.2.1', signal).then((r) => {
      third = true;
      r();
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(third, false, 'the third start in the window waits');
    now = 61;
    await pending;
    assert.deepEqual(Object.fromEntries(limiter.sessions), { '192.0.2.1': 3, '192.0.2.2': 1 });
  });
});
