import { fuzzTest } from './harness.js';
import { dnsWireTarget } from './dns-wire.js';

fuzzTest(dnsWireTarget);
