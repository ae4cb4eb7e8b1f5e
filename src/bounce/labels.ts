import type { BounceRecord, Diagnosis, Followup } from './model.js';

/**
 * Words for the diagnosis's codes, shared by the command line and the web pages so they
 * say the same thing.
 */

export const SIDE_TEXT: Record<BounceRecord['explanation']['side'], string> = {
  sender_configuration: 'sender’s configuration',
  sender_reputation: 'sender’s reputation',
  recipient_address: 'recipient’s address',
  recipient_server: 'recipient’s server',
  network: 'network',
  none: 'nobody (not a failure)',
};

export const KIND_TEXT: Record<Diagnosis['kind'], string> = {
  dsn: 'delivery status notification (RFC 3464)',
  ndr: 'non-delivery report',
  'smtp-reply': 'SMTP reply',
  'auto-reply': 'automatic reply (not a bounce)',
  feedback: 'feedback / complaint report (not a bounce)',
};

export const VERDICT_TEXT: Record<Followup['verdict'], string> = {
  confirmed: 'Confirmed',
  not_confirmed: 'Not confirmed',
  could_not_test: 'Could not test',
};

/** hard, soft, delayed, or not a bounce at all: how a record is labelled. */
export type RecordTag = 'hard' | 'soft' | 'delayed' | 'not_a_bounce';

export function recordTag(r: Pick<BounceRecord, 'reason' | 'action' | 'hard'>): RecordTag {
  if (r.reason === 'delivered' || r.reason === 'vacation' || r.reason === 'feedback') return 'not_a_bounce';
  if (r.action === 'delayed') return 'delayed';
  return r.hard ? 'hard' : 'soft';
}

export const TAG_TEXT: Record<RecordTag, string> = {
  hard: 'Hard',
  soft: 'Soft',
  delayed: 'Delayed',
  not_a_bounce: 'Not a bounce',
};

/** Why the hard/soft distinction matters, in plain words (docs/bounces.md "Hard and soft"). */
export const HARD_SOFT_TEXT = {
  hard: 'Hard means the address itself will never accept mail (it does not exist, its domain does not, or it has moved). Remove it from your lists: sending to dead addresses again and again is what gets senders blocked.',
  soft: 'Soft means the address can take mail again once the cause is fixed — even when the refusal was a permanent 5xx, as for a blocklisted IP, failed authentication or a full mailbox. Fix the cause; do not remove the address on one soft bounce, or you lose real recipients.',
};
