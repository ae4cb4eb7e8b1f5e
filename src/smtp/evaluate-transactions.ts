import { defineFindings } from '../checks/findings.js';
import type { Finding } from '../report/model.js';
import {
  addressEmitter,
  answerFor,
  q,
  stopReason,
  verdictText,
  verdictWhy,
  where,
} from './evaluate-facts.js';
import type { SmtpFacts } from './evaluate-facts.js';
import type { SessionRecord, TransactionTest } from './model.js';
import type { SmtpReply } from './reply.js';
import { OUT_OF_STEP } from './pairing.js';
import { recipientSession } from './probe.js';
import type { AddressProbe } from './probe.js';

/**
 * Findings about the envelope tests the session ran for the domain itself, per MX address:
 * RCPT TO:<postmaster>, the null sender (MAIL FROM:<>) and the open-relay test. None of them
 * ever reaches DATA.
 */

export const TRANSACTION_FINDINGS = defineFindings('smtp', {
  'smtp.postmaster': {
    title: 'postmaster address',
    statuses: ['pass', 'warn', 'fail', 'error'],
    meaning:
      'RCPT TO:<postmaster@domain> was accepted (pass; RFC 5321 §4.5.1 requires it); refused as unknown, or the server refused mail for the domain altogether (fail); mailbox full (warn); could not be tested (greylisted, probe refused, timeout, replies out of step) (error).',
  },
  'smtp.null_sender': {
    title: 'Null sender',
    statuses: ['pass', 'fail', 'error'],
    meaning:
      'MAIL FROM:<> with RCPT TO:<postmaster@domain> was accepted (pass). Refusing it (fail) rejects bounces and delivery reports (RFC 5321 §4.5.5). error when it could not be tested: a temporary answer, replies out of step, or a refusal that also hit the probe sender itself (the server refuses the probe, not bounces).',
  },
  'smtp.open_relay': {
    title: 'Open relay',
    statuses: ['pass', 'fail', 'error'],
    meaning:
      'A recipient in a foreign domain (example.net), from a foreign sender, was refused at RCPT (pass) or accepted (fail: the server relays for anyone). Nothing is ever sent: the test stops before DATA. error when it could not be tested (the probe sender refused, a temporary answer, replies out of step).',
  },
});

const F = TRANSACTION_FINDINGS;

/** smtp.postmaster, smtp.null_sender and smtp.open_relay of one address. */
export function transactionFindings(p: AddressProbe, facts: SmtpFacts): Finding[] {
  const out: Finding[] = [];
  const s = recipientSession(p);
  if (!s) return out;
  const emit = addressEmitter(F, p, out);
  const via = s.kind === 'plain_fallback' ? ' (asked without TLS after the handshake failed)' : '';
  const postmaster = `postmaster@${facts.domain}`;
  const pm = answerFor(p, postmaster);
  if (pm) {
    const why = verdictWhy(pm, s);
    if (pm.verdict === 'deliverable')
      emit('smtp.postmaster', 'pass', `${postmaster} is accepted${via}: ${why}.`, {
        details: { reply: pm.reply },
      });
    else if (pm.verdict === 'undeliverable')
      emit(
        'smtp.postmaster',
        'fail',
        pm.reason === 'relay_denied'
          ? `The server refuses mail for ${facts.domain} (${why}): it does not consider itself responsible for the domain, so mail to ${facts.domain} through this MX bounces.`
          : `${postmaster} is refused: ${why}. RFC 5321 §4.5.1 requires every domain to accept mail for postmaster.`,
        {
          remedy:
            pm.reason === 'relay_denied'
              ? `Add ${facts.domain} to the server's local or relay domains (Postfix: mydestination, virtual_mailbox_domains or relay_domains), or fix the MX record.`
              : `Create postmaster@${facts.domain} (an alias to the administrator is enough).`,
          details: { reply: pm.reply, reason: pm.reason },
        },
      );
    else if (pm.verdict === 'mailbox_full')
      emit('smtp.postmaster', 'warn', `${postmaster}'s mailbox is full: ${why}.`, {
        remedy: 'Empty or enlarge the postmaster mailbox.',
        details: { reply: pm.reply },
      });
    else
      emit('smtp.postmaster', 'error', `Could not test ${postmaster}: ${verdictText(pm.verdict)} — ${why}.`, {
        details: { reply: pm.reply ?? null, verdict: pm.verdict, reason: pm.reason },
      });
  }

  const ns = s.nullSender;
  if (ns) out.push(...nullSenderFinding(ns, p, facts, s));
  const relay = s.relay;
  if (relay) out.push(...relayFinding(relay, p, s));
  // The session ended during the recipients: the transactions after them never ran.
  const domainTests = s.rcpts.some((r) => r.role === 'postmaster');
  if (domainTests && s.error && !ns)
    emit('smtp.null_sender', 'error', `Could not test the null sender: ${stopReason(s)}.`, {
      details: { error: s.error },
    });
  if (domainTests && s.error && !relay)
    emit('smtp.open_relay', 'error', `Could not test relaying: ${stopReason(s)}.`, {
      details: { error: s.error },
    });
  return out;
}

function nullSenderFinding(
  t: TransactionTest,
  p: AddressProbe,
  facts: SmtpFacts,
  s: SessionRecord,
): Finding[] {
  const subject = where(p);
  const details = { mailReply: t.mailReply ?? null, rcptReply: t.rcptReply ?? null, error: t.error ?? null };
  if (t.outOfStep)
    return [
      F.make('smtp.null_sender', 'error', {
        summary: `Could not test the null sender: ${OUT_OF_STEP}.`,
        subject,
        details: { ...details, outOfStep: true },
      }),
    ];
  if (!t.mailReply || (t.mailReply.code === 250 && !t.rcptReply))
    return [
      F.make('smtp.null_sender', 'error', {
        summary: `Could not test the null sender: ${t.error ?? stopReason(s)}.`,
        subject,
        details,
      }),
    ];
  const rejectedAt =
    t.mailReply.code !== 250 ? t.mailReply : t.rcptReply && t.rcptReply.code >= 400 ? t.rcptReply : undefined;
  if (!rejectedAt)
    return [
      F.make('smtp.null_sender', 'pass', {
        summary: `MAIL FROM:<> to postmaster@${facts.domain} is accepted: bounces and delivery reports can be delivered.`,
        subject,
        details,
      }),
    ];
  const temporary = rejectedAt.code < 500 || rejectedAt.code === 421;
  if (temporary)
    return [
      F.make('smtp.null_sender', 'error', {
        summary: `Could not test the null sender: ${q(rejectedAt)} (temporary).`,
        subject,
        details,
      }),
    ];
  const sameForOthers = t.mailReply.code !== 250 ? otherSenderRefused(t.mailReply, s) : undefined;
  if (sameForOthers)
    return [
      F.make('smtp.null_sender', 'error', {
        summary: `Could not test the null sender: MAIL FROM:<> was answered ${q(t.mailReply)}, and so was ${sameForOthers}. The server refuses the probe, whatever the sender, so the refusal says nothing about bounces.`,
        subject,
        details: { ...details, refusedAlso: sameForOthers },
      }),
    ];
  return [
    F.make('smtp.null_sender', 'fail', {
      summary: `The null sender is refused: MAIL FROM:<> ${t.mailReply.code !== 250 ? 'was' : 'then RCPT TO:<postmaster> was'} answered ${q(rejectedAt)}. Bounces and delivery status notifications to ${facts.domain} are lost (RFC 5321 §4.5.5 requires accepting them).`,
      remedy:
        'Accept the null reverse-path "<>"; filter bounce spam by other means (e.g. BATV, or accept <> only for existing users).',
      subject,
      details,
    }),
  ];
}

/**
 * The other sender of this session (mxdoctor's own, or the relay test's) that MAIL FROM
 * refused with the same reply as `refusal`, e.g. "MAIL FROM:<probe@…>"; undefined when none.
 * The same refusal for every sender is a refusal of the client, not of one sender.
 */
function otherSenderRefused(refusal: SmtpReply, s: SessionRecord): string | undefined {
  const same = (r: SmtpReply | undefined): boolean =>
    r !== undefined &&
    r.code === refusal.code &&
    (r.enhanced ?? '') === (refusal.enhanced ?? '') &&
    (refusal.enhanced !== undefined || r.text === refusal.text);
  if (s.mail && same(s.mail.reply)) return `mxdoctor's own MAIL FROM:<${s.mail.from}>`;
  if (s.relay && same(s.relay.mailReply)) return `MAIL FROM:<${s.relay.from}> (the relay test's sender)`;
  return undefined;
}

function relayFinding(t: TransactionTest, p: AddressProbe, s: SessionRecord): Finding[] {
  const subject = where(p);
  const details = {
    from: t.from,
    to: t.to,
    mailReply: t.mailReply ?? null,
    rcptReply: t.rcptReply ?? null,
    error: t.error ?? null,
  };
  const untested = (why: string): Finding[] => [
    F.make('smtp.open_relay', 'error', { summary: `Could not test relaying: ${why}.`, subject, details }),
  ];
  if (t.outOfStep) return untested(OUT_OF_STEP);
  if (!t.mailReply) return untested(t.error ?? stopReason(s));
  if (t.mailReply.code !== 250) return untested(`the probe sender was refused (${q(t.mailReply)})`);
  const r = t.rcptReply;
  if (!r) return untested(t.error ?? stopReason(s));
  if (r.code === 250 || r.code === 251)
    return [
      F.make('smtp.open_relay', 'fail', {
        summary: `Open relay: RCPT TO:<${t.to}> (a foreign domain) from <${t.from}> was accepted with ${q(r)}. Spammers can send through this server. (mxdoctor stopped before DATA; nothing was relayed.)`,
        remedy:
          'Restrict relaying to your own networks and authenticated users (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination).',
        subject,
        details,
      }),
    ];
  if (r.code >= 500 || /relay/i.test(r.text))
    return [
      F.make('smtp.open_relay', 'pass', {
        summary: `Relaying to ${t.to.split('@')[1]} is refused: ${q(r)}.`,
        subject,
        details,
      }),
    ];
  return [
    F.make('smtp.open_relay', 'error', {
      summary: `Could not test relaying: ${q(r)} (temporary).`,
      subject,
      details,
    }),
  ];
}
