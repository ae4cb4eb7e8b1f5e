import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { badgeSvg, escapeXml } from '../../src/web/checks/badge.js';

describe('score badge', () => {
  it('colours the score by band and says when there is none', () => {
    assert.match(badgeSvg('example.com', 95, true), /fill="#2e7d32".*>95\/100</);
    assert.match(badgeSvg('example.com', 75, true), /fill="#b26a00"/);
    assert.match(badgeSvg('example.com', 40, true), /fill="#c62828"/);
    assert.match(badgeSvg('example.com', null, true), />not scored</);
    assert.match(badgeSvg('example.com', null, false), /fill="#757575".*>not checked</);
  });

  it('escapes everything it prints', () => {
    const svg = badgeSvg('<script>"&\'.example', 90, true);
    assert.doesNotMatch(svg, /<script>/);
    assert.match(svg, /&#60;script&#62;&#34;&#38;&#39;\.example/);
    assert.equal(escapeXml(`<a href="x">&'`), '&#60;a href=&#34;x&#34;&#62;&#38;&#39;');
  });
});
