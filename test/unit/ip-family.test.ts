import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { ipFamily } from '../../src/net/ip-family.js';

/**
 * ipFamily answers what net.isIP answers (it only skips the IPv6 expression for text without
 * a colon): checked on the kinds of text mxdoctor asks about — addresses from DNS, Received
 * headers and resolv.conf, host names, user input with ports, brackets and junk.
 */
const SAMPLES = [
  '192.0.2.1',
  '127.0.0.1',
  '0.0.0.0',
  '255.255.255.255',
  '256.1.1.1',
  '1.2.3',
  '01.2.3.4',
  '1.2.3.4.',
  '1.2.3.4:53',
  '2001:db8::1',
  '::',
  '::1',
  '::ffff:192.0.2.1',
  'fe80::1%eth0',
  '[2001:db8::1]',
  '2001:db8::1:53',
  '2001:db8:::1',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8:9',
  'mx.example.com',
  'example.com:25',
  'localhost',
  'IPv6:2001:db8::1',
  '',
  ' 192.0.2.1',
  'abcd',
  ':',
];

describe('ipFamily', () => {
  it('answers as net.isIP does, for every kind of text it is asked about', () => {
    for (const text of SAMPLES) assert.equal(ipFamily(text), isIP(text), JSON.stringify(text));
  });

  it('tells the families apart', () => {
    assert.equal(ipFamily('192.0.2.1'), 4);
    assert.equal(ipFamily('2001:db8::1'), 6);
    assert.equal(ipFamily('mx.example.com'), 0);
  });
});
