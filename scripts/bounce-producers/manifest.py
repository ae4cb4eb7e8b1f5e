#!/usr/bin/env python3
"""Writes test/fixtures/bounces/producers/manifest.json: the TRUTH about every producer fixture.

The truth comes from how each bounce was made (the fake remote's reply for the case, see
fake-remote.mjs, or what the producing MTA was made to do), never from mxdoctor's output. Only
two things are read from the bounce itself, because they are facts about what it states: the
enhanced status code (the remote reply's when the bounce quotes the reply, else the bounce's
own Status field, else none) and whether the bounce names the SMTP stage.

    python3 scripts/bounce-producers/manifest.py && npx prettier --write test/fixtures/bounces/producers/manifest.json
"""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', '..', 'test', 'fixtures', 'bounces', 'producers')

PRODUCERS = {
    'sendmail': 'Sendmail 8.17.1.9 (Debian sendmail-bin 8.17.1.9-2+deb12u2)',
    'courier': 'Courier 1.0.16 (Debian courier-mta 1.0.16-3+b6)',
    'haraka': 'Haraka 3.3.4 (npm)',
    'postfix': 'Postfix 3.7.11 (Debian postfix 3.7.11-0+deb12u1)',
    'exim': 'Exim 4.96 (Debian exim4-daemon-light 4.96-15+deb12u11)',
    'opensmtpd': 'OpenSMTPD 6.8.0p2 (Debian opensmtpd 6.8.0p2-4+b4)',
    'dovecot': 'Dovecot 2.3.19.1 with Pigeonhole (Debian dovecot-lmtpd/dovecot-sieve 2.3.19.1+dfsg1-2.1+deb12u7)',
    'dma': 'DragonFly Mail Agent 0.13 (Debian dma 0.13-1+b1)',
    'nullmailer': 'nullmailer 2.2 (Debian nullmailer 1:2.2-4)',
}

# The fake remote's replies (fake-remote.mjs), by local part.
REPLY = {
    'unknown': '550 5.1.1 <{a}>: Recipient address rejected: User unknown in virtual mailbox table',
    'full': '552 5.2.2 <{a}>: Recipient address rejected: Mailbox full',
    'fulltemp': '452 4.2.2 <{a}>: Mailbox full, try again later',
    'dnsbl': '554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org',
    'grey': '450 4.2.0 <{a}>: Recipient address rejected: Greylisted',
    'disabled': '550 5.2.1 <{a}>: Recipient address rejected: Mailbox disabled, account suspended',
    'relay': '554 5.7.1 <{a}>: Relay access denied',
    'spam': '554 5.7.1 Message content rejected as spam (score 12.4 > 5.0)',
    'virus': '554 5.7.0 Message rejected: virus found in attachment (Eicar-Test-Signature)',
    'toobig': '552 5.3.4 Message size exceeds fixed maximum message size',
    'connect-blocked.test': '554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org',
    'greet-421.test': '421 4.3.2 Service not available, closing transmission channel',
    'small.test': '552 5.3.4 Message size exceeds fixed limit',
    'overquota': '552 5.2.2 <{a}> Quota exceeded (mailbox for user is full)',
    'nobody': "550 5.1.1 <{a}> User doesn't exist: {a}",
}

# case -> (cause, [(recipient, action, reason, hard, stage)])
R = lambda *x: x  # noqa: E731
CASES = {
    'rcpt-user-unknown': ('the remote refused the recipient at RCPT with 550 5.1.1 (no such user)',
                          [R('unknown@remote.test', 'failed', 'user_unknown', True, 'RCPT')]),
    'rcpt-user-unknown-without-bounce-template': (
        'the remote refused the recipient at RCPT with 550 5.1.1; Haraka ran from a service folder without '
        'outbound.bounce_message (as `haraka -i` makes it), so the bounce has no From/To/Subject and an empty text part',
        [R('unknown@remote.test', 'failed', 'user_unknown', True, 'RCPT')]),
    'rcpt-mailbox-full-552': ('the remote refused the recipient at RCPT with 552 5.2.2 (mailbox full)',
                              [R('full@remote.test', 'failed', 'mailbox_full', False, 'RCPT')]),
    'rcpt-account-disabled': ('the remote refused the recipient at RCPT with 550 5.2.1 (mailbox disabled, account suspended)',
                              [R('disabled@remote.test', 'failed', 'suspended', False, 'RCPT')]),
    'rcpt-dnsbl-blocked-554': ('the remote refused the recipient at RCPT with 554 5.7.1: the client IP is on zen.spamhaus.org',
                               [R('dnsbl@remote.test', 'failed', 'blocked', False, 'RCPT')]),
    'rcpt-relay-denied': ('the remote refused the recipient at RCPT with 554 5.7.1 Relay access denied',
                          [R('relay@remote.test', 'failed', 'relaying_denied', False, 'RCPT')]),
    'rcpt-unknown-and-full': ('two recipients refused at RCPT: 550 5.1.1 user unknown and 552 5.2.2 mailbox full',
                              [R('unknown@remote.test', 'failed', 'user_unknown', True, 'RCPT'),
                               R('full@remote.test', 'failed', 'mailbox_full', False, 'RCPT')]),
    'data-spam-rejected-554': ('the remote accepted the recipient and refused the message after DATA with 554 5.7.1 (content judged to be spam)',
                               [R('spam@remote.test', 'failed', 'spam_detected', False, 'DATA')]),
    'data-virus-rejected': ('the remote refused the message after DATA with 554 5.7.0 (virus found)',
                            [R('virus@remote.test', 'failed', 'virus_detected', False, 'DATA')]),
    'data-too-large-552': ('the remote refused the message after DATA with 552 5.3.4 (message size exceeds fixed maximum)',
                           [R('toobig@remote.test', 'failed', 'message_too_large', False, 'DATA')]),
    'connect-blocked-554-greeting': ('the remote greeted with 554 5.7.1: the client IP is on zen.spamhaus.org',
                                     [R('bob@connect-blocked.test', 'failed', 'blocked', False, 'CONNECT')]),
    'connect-blocked-554-greeting-expired': (
        'the remote greeted with 554 5.7.1 (client IP on zen.spamhaus.org); the MTA took the 5xx greeting as temporary '
        '(Postfix: smtp_skip_5xx_greeting) and returned the message when its queue lifetime ran out',
        [R('bob@connect-blocked.test', 'failed', 'blocked', False, 'CONNECT')]),
    'host-unknown-nxdomain': ('the recipient domain does not exist (NXDOMAIN from the resolver)',
                              [R('bob@no-such-domain.test', 'failed', 'host_unknown', True, 'none')]),
    'null-mx': ('the recipient domain publishes a null MX ("0 ." RFC 7505)',
                [R('bob@nullmx.test', 'failed', 'not_accept', True, 'none')]),
    'size-limit-declared': ('the remote advertised SIZE 2000 and the message is larger: refused at MAIL with 552 5.3.4 '
                            '(Postfix refuses it itself, without sending MAIL)',
                            [R('bob@small.test', 'failed', 'message_too_large', False, 'MAIL')]),
    'delay-warning-greylisted': ('delay notice: the remote greylists the recipient at RCPT (450 4.2.0); still being retried',
                                 [R('grey@remote.test', 'delayed', 'policy_violation', False, 'RCPT')]),
    'delay-warning-connection-refused': ('delay notice: nothing listens on the remote (TCP connection refused); still being retried',
                                         [R('bob@refused.test', 'delayed', 'network_error', False, 'CONNECT')]),
    'delay-warning-mailbox-full-452': ('delay notice: the remote answers 452 4.2.2 mailbox full at RCPT; still being retried',
                                       [R('fulltemp@remote.test', 'delayed', 'mailbox_full', False, 'RCPT')]),
    'expired-connection-refused': ('nothing listens on the remote (TCP connection refused); the MTA gave up when the queue lifetime ran out',
                                   [R('bob@refused.test', 'failed', 'expired', False, 'CONNECT')]),
    'expired-greeting-421': ('the remote greets with 421 4.3.2 and closes; the MTA gave up when the queue lifetime ran out',
                             [R('bob@greet-421.test', 'failed', 'expired', False, 'CONNECT')]),
    'expired-greeting-timeout': ('the remote accepts TCP and never greets; the MTA gave up when the queue lifetime ran out',
                                 [R('bob@silent.test', 'failed', 'expired', False, 'CONNECT')]),
    'expired-greylisted': ('the remote greylists the recipient at RCPT (450 4.2.0) every time; the MTA gave up when the queue lifetime ran out',
                           [R('grey@remote.test', 'failed', 'expired', False, 'RCPT')]),
    'expired-mailbox-full-452': ('the remote answers 452 4.2.2 mailbox full at RCPT every time; the MTA gave up when the queue lifetime ran out '
                                 '(the last error names the cause, so the reason is that cause, not "expired")',
                                 [R('fulltemp@remote.test', 'failed', 'mailbox_full', False, 'RCPT')]),
    'lmtp-dovecot-user-unknown': ('Dovecot LMTP (the remote, behind Postfix) refused the recipient at RCPT: 550 5.1.1 User doesn\'t exist',
                                  [R('nobody@lmtp.test', 'failed', 'user_unknown', True, 'RCPT')]),
    'lmtp-dovecot-over-quota-data': ('Dovecot LMTP refused the message after DATA: 552 5.2.2 Quota exceeded (mailbox for user is full)',
                                     [R('overquota@lmtp.test', 'failed', 'mailbox_full', False, 'DATA')]),
    'lmtp-dovecot-over-quota-rcpt': ('Dovecot LMTP with lmtp_rcpt_check_quota = yes refused the recipient at RCPT: 552 5.2.2 Quota exceeded',
                                     [R('overquota@lmtp.test', 'failed', 'mailbox_full', False, 'RCPT')]),
    'sieve-reject': ('the recipient\'s Sieve script rejected the message (`reject "…"`): Dovecot sent an RFC 5429 rejection (an MDN)',
                     [R('sieverej@lmtp.test', 'failed', 'filtered', False, 'none')]),
}
# Where one producer's bounce differs from the case's general truth.
OVERRIDES = {
    # OpenSMTPD 6.8 reports an expired envelope as a "delayed" notice ("Envelope expired",
    # Status 4.4.7) although it has dropped the message: the truth is a final failure, and its
    # notice does not quote the last error, so the mailbox-full case reads as a plain expiry.
    ('opensmtpd', 'expired-connection-refused'): {'action': 'failed'},
    ('opensmtpd', 'expired-greeting-421'): {'action': 'failed'},
    ('opensmtpd', 'expired-greylisted'): {'action': 'failed'},
    ('opensmtpd', 'expired-mailbox-full-452'): {'action': 'failed', 'reason': 'expired'},
    ('opensmtpd', 'connect-blocked-554-greeting-expired'): {'reason': 'expired'},
}
# Arguable readings a careful classifier may give instead (kept few, and said why).
REASON_ALSO = {
    # A notice that never says it gave up ("Network is down", "Envelope expired") still ends retries.
    ('courier', 'expired-connection-refused'): ['network_error'],
    # Exim's delay warning names no cause at all (no reply, no Diagnostic-Code, Status 4.0.0):
    # nothing in it can tell a connection failure from anything else.
    ('exim', 'delay-warning-connection-refused'): ['unknown'],
}


def unfold(text):
    return re.sub(r'\s+', ' ', text)


def reply_for(rcpt):
    local, domain = rcpt.split('@')
    tmpl = REPLY.get(local) or REPLY.get(domain)
    return tmpl.format(a=rcpt) if tmpl else None


def dsn_status(text, rcpt):
    # the Status of the per-recipient group that names this recipient
    for group in re.split(r'\n\s*\n', text):
        if re.search(r'(?im)^(final|original)-recipient:.*' + re.escape(rcpt), group):
            m = re.search(r'(?im)^status:\s*([245]\.\d{1,3}\.\d{1,3})', group)
            if m:
                return m.group(1)
    return None


def stage_stated(mta, case, stage, text):
    """Does the bounce itself name the stage (so a parser can be held to it)?"""
    t = unfold(text)
    if stage == 'none':
        return True
    if mta == 'haraka':
        return False
    if mta == 'sendmail':
        # Sendmail pipelines RCPT and DATA; its transcript shows ">>> DATA" before RCPT replies
        return stage in ('MAIL', 'DATA')
    if stage == 'RCPT':
        return bool(re.search(r'RCPT TO', t, re.I))
    if stage == 'DATA':
        return bool(re.search(r'end of DATA|after end of data|>>> DATA|DATA command|after DATA|our final DATA', t, re.I))
    if stage == 'MAIL':
        return bool(re.search(r'MAIL FROM', t, re.I))
    if stage == 'CONNECT':
        return bool(re.search(r'initial greeting|initial connection|refused to talk to me|server greeting', t, re.I))
    return False


def entry(mta, name):
    path = os.path.join(FIX, mta, name)
    text = open(path, encoding='latin-1').read().replace('\r\n', '\n')
    case = name[:-4]
    cause, recs = CASES[case]
    records = []
    for rcpt, action, reason, hard, stage in recs:
        reply = reply_for(rcpt)
        quoted = reply is not None and unfold(reply) in unfold(text)
        if quoted:
            status, code = reply.split(' ')[1], int(reply[:3])
        else:
            status, code = dsn_status(text, rcpt), None
        if case == 'size-limit-declared' and not quoted:
            stage = 'none'  # the MTA read SIZE from EHLO and refused the message itself
        rec = {
            'recipient': rcpt,
            'action': action,
            'reason': reason,
            'hard': hard,
            'status': status,
            'replyCode': code,
            'stage': stage,
            'stageStated': stage_stated(mta, case, stage, text),
        }
        rec.update(OVERRIDES.get((mta, case), {}))
        also = REASON_ALSO.get((mta, case))
        if also:
            rec['reasonAlso'] = also
        records.append(rec)
    return {'file': f'{mta}/{name}', 'producer': PRODUCERS[mta], 'case': case, 'cause': cause, 'records': records}


def main():
    out = []
    for mta in sorted(d for d in os.listdir(FIX) if os.path.isdir(os.path.join(FIX, d))):
        for name in sorted(os.listdir(os.path.join(FIX, mta))):
            if name.endswith('.eml'):
                out.append(entry(mta, name))
    with open(os.path.join(FIX, 'manifest.json'), 'w') as f:
        json.dump(out, f, indent=2)
        f.write('\n')
    print(f'{len(out)} fixtures, {sum(len(e["records"]) for e in out)} records')


main()
