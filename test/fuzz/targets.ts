import { bounceTarget } from './bounce.js';
import { dnsClientTarget } from './dns-client.js';
import { dnsWireTarget } from './dns-wire.js';
import type { FuzzTarget } from './harness.js';
import { smtpConnectionTarget } from './smtp-connection.js';
import { smtpReplyTarget } from './smtp-reply.js';
import { smtpSessionTarget } from './smtp-session.js';

/** Every fuzz target, in the order `npm run fuzz` runs them. */
export const TARGETS: readonly FuzzTarget[] = [
  smtpReplyTarget,
  smtpConnectionTarget,
  smtpSessionTarget,
  dnsWireTarget,
  dnsClientTarget,
  bounceTarget,
];
