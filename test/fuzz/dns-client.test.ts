import { fuzzTest } from './harness.js';
import { dnsClientTarget } from './dns-client.js';

fuzzTest(dnsClientTarget);
