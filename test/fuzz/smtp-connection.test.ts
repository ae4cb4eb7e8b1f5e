import { fuzzTest } from './harness.js';
import { smtpConnectionTarget } from './smtp-connection.js';

fuzzTest(smtpConnectionTarget);
