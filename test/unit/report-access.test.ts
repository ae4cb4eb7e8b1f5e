import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dedupeScope, isOwner, mayList, mayRead, ownerFor, seesAddresses } from '../../src/report/access.js';
import type { Reader } from '../../src/report/access.js';
import { redactAddresses } from '../../src/report/redact.js';

const anyone: Reader = { admin: false };
const alice: Reader = { admin: false, token: 'alice' };
const browser: Reader = { admin: false, browser: 'b1' };
const admin: Reader = { admin: true };

describe('report ownership', () => {
  it('names the owner: token, else browser, else anonymous', () => {
    assert.equal(ownerFor(alice), 'token:alice');
    assert.equal(ownerFor({ admin: false, token: 'alice', browser: 'b1' }), 'token:alice');
    assert.equal(ownerFor(browser), 'browser:b1');
    assert.equal(ownerFor(anyone), 'anonymous');
  });

  it('keeps a token’s reports to the token and the admin', () => {
    for (const [reader, ok] of [
      [alice, true],
      [admin, true],
      [anyone, false],
      [browser, false],
      [{ admin: false, token: 'bob' }, false],
    ] as const) {
      assert.equal(mayRead('token:alice', reader), ok);
      assert.equal(mayList('token:alice', false, reader, 'public'), ok);
    }
  });

  it('shows verified addresses only to the owner, or to the link of an anonymous API check', () => {
    assert.equal(seesAddresses('browser:b1', browser), true);
    assert.equal(seesAddresses('browser:b1', anyone), false);
    assert.equal(seesAddresses('browser:b1', { admin: false, browser: 'b2' }), false);
    assert.equal(seesAddresses('browser:b1', admin), true);
    assert.equal(seesAddresses('anonymous', anyone), true);
    assert.equal(seesAddresses(undefined, anyone), true, 'reports from before owners are anonymous');
    assert.equal(isOwner('anonymous', anyone), false);
  });

  it('lists anonymous reports when public, never an anonymous one that verified addresses', () => {
    assert.equal(mayList('anonymous', false, anyone, 'public'), true);
    assert.equal(mayList('anonymous', true, anyone, 'public'), false);
    assert.equal(mayList('browser:b1', true, anyone, 'public'), true, 'listed, with the addresses hidden');
    assert.equal(mayList('anonymous', false, anyone, 'private'), false);
    assert.equal(mayList('browser:b1', false, browser, 'private'), true, 'one’s own');
    assert.equal(mayList('anonymous', false, admin, 'private'), true);
  });

  it('shares a check between identical requests only when it would look the same to both', () => {
    assert.equal(dedupeScope('anonymous', false), undefined);
    assert.equal(dedupeScope('browser:b1', false), undefined);
    assert.equal(dedupeScope('browser:b1', true), 'browser:b1');
    assert.equal(dedupeScope('token:alice', false), 'token:alice');
  });
});

describe('redactAddresses', () => {
  it('hides local parts wherever they stand before an @, in any case, and leaves the input alone', () => {
    const report = {
      options: { verify: ['ceo.x@good.test'] },
      checks: [{ summary: 'ceo.x@good.test is undeliverable: 550 5.1.1 <CEO.X@good.test>' }],
      transcript: ['RCPT TO:<ceo.x@good.test>', 'data@good.test', 'xceo.x@good.test'],
      byAddress: { 'ceo.x@good.test': 'fail' },
      n: 3,
    };
    const copy = structuredClone(report);
    assert.deepEqual(redactAddresses(report, ['ceo.x@good.test']), {
      options: { verify: ['[hidden]@good.test'] },
      checks: [{ summary: '[hidden]@good.test is undeliverable: 550 5.1.1 <[hidden]@good.test>' }],
      transcript: ['RCPT TO:<[hidden]@good.test>', 'data@good.test', 'xceo.x@good.test'],
      byAddress: { '[hidden]@good.test': 'fail' },
      n: 3,
    });
    assert.deepEqual(report, copy);
  });

  it('treats the local part as text, not as a pattern', () => {
    assert.equal(
      redactAddresses('a+b@x.test a.b@x.test aab@x.test', ['a+b@x.test']),
      '[hidden]@x.test a.b@x.test aab@x.test',
    );
  });
});
