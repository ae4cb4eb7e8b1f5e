import { fuzzTest } from './harness.js';
import { smtpReplyTarget } from './smtp-reply.js';

fuzzTest(smtpReplyTarget);
