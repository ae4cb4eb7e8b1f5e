import { fuzzTest } from './harness.js';
import { smtpSessionTarget } from './smtp-session.js';

fuzzTest(smtpSessionTarget);
