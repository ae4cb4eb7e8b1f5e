import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkSvgTinyPs } from '../../src/bimi/svg.js';

/** SVG Tiny PS validation of BIMI logos: table-driven cases, worst-case timing and fuzzing. */
const GOOD = `<?xml version="1.0" encoding="UTF-8"?>
<!-- brand logo -->
<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" viewBox="0 0 100 100">
  <title>Example Brand</title>
  <defs><linearGradient id="g"><stop offset="0" stop-color="#f00"/></linearGradient></defs>
  <circle cx="50" cy="50" r="40" fill="url(#g)"/>
  <use xlink:href="#g"/>
</svg>`;

const variants: { name: string; svg: string; problem?: RegExp }[] = [
  { name: 'a valid SVG Tiny PS logo', svg: GOOD },
  {
    name: 'baseProfile "tiny" instead of "tiny-ps"',
    svg: GOOD.replace('baseProfile="tiny-ps"', 'baseProfile="tiny"'),
    problem: /baseProfile="tiny-ps"/,
  },
  { name: 'no version', svg: GOOD.replace(' version="1.2"', ''), problem: /version="1.2"/ },
  { name: 'no <title>', svg: GOOD.replace('<title>Example Brand</title>', ''), problem: /no <title>/ },
  {
    name: 'a script',
    svg: GOOD.replace('</svg>', '<script>alert(1)</script></svg>'),
    problem: /forbids: <script>/,
  },
  {
    name: 'a namespaced script',
    svg: GOOD.replace('</svg>', '<svg:script>x</svg:script></svg>'),
    problem: /<script>/,
  },
  {
    name: 'an external image',
    svg: GOOD.replace('</svg>', '<image href="https://evil.example/x.png"/></svg>'),
    problem: /external resources: https:\/\/evil\.example\/x\.png/,
  },
  {
    name: 'an external url() in a style',
    svg: GOOD.replace('</svg>', '<style>rect { fill: url(https://x.example/p.svg#a) }</style></svg>'),
    problem: /url\(https:\/\/x\.example/,
  },
  {
    name: 'an event handler',
    svg: GOOD.replace('<circle ', '<circle onclick="steal()" '),
    problem: /event-handler attributes: onclick/,
  },
  {
    name: 'animation',
    svg: GOOD.replace('</svg>', '<animate attributeName="r"/></svg>'),
    problem: /<animate>/,
  },
  { name: 'a rectangular view box', svg: GOOD.replace('0 0 100 100', '0 0 200 100'), problem: /not square/ },
  { name: 'no view box', svg: GOOD.replace(' viewBox="0 0 100 100"', ''), problem: /no viewBox/ },
  { name: 'x and y on the root', svg: GOOD.replace('<svg ', '<svg x="0" y="0" '), problem: /x or y/ },
  {
    name: 'entity declarations',
    svg: `<!DOCTYPE svg [<!ENTITY a "aaaa">]>${GOOD.slice(GOOD.indexOf('<svg'))}`,
    problem: /entities/,
  },
  { name: 'not an SVG at all', svg: '<html><title>x</title></html>', problem: /not an SVG/ },
];

describe('SVG Tiny PS check (BIMI logos)', () => {
  for (const v of variants) {
    it(v.problem ? `rejects ${v.name}` : `accepts ${v.name}`, () => {
      const c = checkSvgTinyPs(v.svg);
      if (!v.problem) assert.deepEqual(c.problems, []);
      else
        assert.ok(
          c.problems.some((p) => v.problem!.test(p)),
          c.problems.join(' | '),
        );
    });
  }

  it('reads the view box and the title', () => {
    const c = checkSvgTinyPs(Buffer.from(GOOD));
    assert.deepEqual(c.viewBox, { width: 100, height: 100 });
    assert.equal(c.hasTitle, true);
    assert.equal(c.root?.name, 'svg');
  });

  it('takes linear time on hostile input (unclosed tags, quotes, comments, deep nesting)', () => {
    const n = 200_000;
    const hostile = [
      '<a '.repeat(n),
      `<svg a="${'x'.repeat(n)}`,
      '<!--'.repeat(n),
      '<g>'.repeat(n),
      '<style>'.repeat(n / 10),
      `<x ${'b= '.repeat(n)}`,
      'url('.repeat(n),
      '<!x>'.repeat(n) + '[',
    ];
    for (const text of hostile) {
      const t0 = performance.now();
      checkSvgTinyPs(text);
      const ms = performance.now() - t0;
      assert.ok(ms < 1500, `${text.slice(0, 12)}…: ${Math.round(ms)} ms`);
    }
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const c = checkSvgTinyPs(`<svg ${s}`);
        return Array.isArray(c.problems);
      }),
      { numRuns: 500 },
    );
  });
});
