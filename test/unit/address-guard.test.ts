import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAddress, connectAllowed } from '../../src/net/address-guard.js';

describe('classifyAddress', () => {
  const cases: [string, string][] = [
    ['8.8.8.8', 'public'],
    ['93.184.215.14', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.128.0.1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link_local'],
    ['192.0.0.8', 'protocol_assignment'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['2606:4700::1111', 'public'],
    ['2a00:1450:4001:80b::200e', 'public'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link_local'],
    ['fd00::1', 'unique_local'],
    ['fc00::1', 'unique_local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['100::1', 'discard'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:0808:0808::1', 'public'],
    ['4000::1', 'reserved'],
    ['fe80::1%eth0', 'link_local'],
    ['not-an-ip', 'invalid'],
  ];
  for (const [address, category] of cases) {
    it(`${address} is ${category}`, () => assert.equal(classifyAddress(address).category, category));
  }
});

describe('connectAllowed', () => {
  it('allows public addresses', () => assert.deepEqual(connectAllowed('8.8.8.8', false), { ok: true }));
  it('refuses loopback by default and names the reason and the switch', () => {
    const r = connectAllowed('127.0.0.1', false);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.why, /loopback.*MXDOCTOR_ALLOW_PRIVATE/);
  });
  it('refuses IPv4-mapped loopback', () => assert.equal(connectAllowed('::ffff:127.0.0.1', false).ok, false));
  it('allows loopback and private when the operator allows it', () => {
    assert.equal(connectAllowed('127.0.0.1', true).ok, true);
    assert.equal(connectAllowed('::1', true).ok, true);
    assert.equal(connectAllowed('10.0.0.1', true).ok, true);
  });
  it('never allows unspecified or multicast targets', () => {
    assert.equal(connectAllowed('0.0.0.0', true).ok, false);
    assert.equal(connectAllowed('224.0.0.1', true).ok, false);
  });
});
