import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseVerifyAddress } from '../../src/input/address.js';
import { parseCheckRequest } from '../../src/input/check-request.js';
import { normalizeDomain } from '../../src/input/domain.js';
import { normalizeVerify } from '../../src/cli/check.js';
import { visibleControls } from '../../src/report/visible-text.js';
import { createViews } from '../../src/web/views.js';

const domain = (() => {
  const d = normalizeDomain('Example.COM');
  assert.ok(d.ok);
  return d.domain;
})();

describe('addresses to verify: one validator for the CLI, the API and the web form', () => {
  const refused = [
    ['a\u0000b@example.com', /control character/],
    ['a\rb@example.com', /control character/],
    ['ab\u007f@example.com', /control character/],
    ['a\u001b[31mb@example.com', /control character/],
    ['a b@example.com', /printable ASCII without spaces/],
    ['"a"@example.com', /printable ASCII/],
    ['a,b@example.com', /printable ASCII/],
    [`${'x'.repeat(65)}@example.com`, /at most 64 characters/],
    ['élise@example.com', /printable ASCII/],
    ['nobody', /is not an email address/],
    ['someone@other.example', /is not at example\.com/],
  ] as const;

  it('refuses the same addresses everywhere, with the same words', () => {
    for (const [raw, why] of refused) {
      const v = parseVerifyAddress(raw, domain);
      assert.equal(v.ok, false, JSON.stringify(raw));
      const problem = !v.ok ? v.problem : '';
      assert.match(problem, why, JSON.stringify(raw));
      assert.throws(
        () => normalizeVerify([raw], domain),
        (e: Error) => e.message === `--verify ${problem}`,
      );
      const api = parseCheckRequest({ domain: 'example.com', verify: [raw] });
      assert.deepEqual(api.ok ? [] : api.errors, [{ field: 'verify[0]', message: problem }]);
    }
  });

  it('normalises the domain part and keeps the local part', () => {
    assert.deepEqual(parseVerifyAddress(' Info+x@EXAMPLE.com ', domain), {
      ok: true,
      address: 'Info+x@example.com',
    });
    assert.deepEqual(normalizeVerify(['a@example.com', 'a@Example.com'], domain), ['a@example.com']);
  });
});

describe('control characters are shown, not sent to terminals and pages', () => {
  it('escapes NUL, a bare CR, ESC, DEL and C1, and keeps tabs, line feeds and CRLF', () => {
    assert.equal(
      visibleControls('a\u0000b\rc\r\nd\te\u001b[2J\u007f\u0085'),
      'a\\x00b\\x0dc\r\nd\te\\x1b[2J\\x7f\\x85',
    );
  });

  it('prints them visibly in every page', () => {
    const html = createViews().render('error', { heading: 'x', message: 'null\u0000 cr\r <b>', status: 500 });
    assert.match(html, /null\\x00 cr\\x0d &lt;b&gt;/);
    // eslint-disable-next-line no-control-regex -- what must not be there
    assert.doesNotMatch(html, /\u0000|\r(?!\n)/);
  });
});
