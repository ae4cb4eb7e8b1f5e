#!/bin/sh
# OpenSMTPD 6.8.0p2 (Debian opensmtpd) with opensmtpd-producers.conf (QUEUE_TTL and WARN
# filled in per phase): see the README. OpenSMTPD on Debian names itself after /etc/mailname,
# which must say mx.sender.test.
set -u
. "$(dirname "$0")/common.sh"
IN=/srv/bp/smtpd/smtpd.conf.in; CONF=/srv/bp/smtpd/smtpd.conf; PIDF=/srv/bp/smtpd/pid
stop() {
  [ -f "$PIDF" ] || return 0
  kill "$(cat "$PIDF")" 2>/dev/null
  while kill -0 "$(cat "$PIDF")" 2>/dev/null; do sleep 1; done; rm -f "$PIDF"; sleep 1
}
start() { # start TTL WARN
  stop; sed "s/QUEUE_TTL/$1/; s/WARN/$2/" "$IN" > "$CONF"
  as_sender_host sh -c "smtpd -d -f $CONF >/srv/bp/smtpd/log 2>&1 & echo \$! >$PIDF"; sleep 2
}
send() { c=$1; shift; sh "$MSG" "$c" opensmtpd "$@" | as_sender_host sendmail -f alice@sender.test "$@"; }
get() { collect opensmtpd "$1" 90; }
# after each time-based case: forget the message, and any later notice about it
settle() { smtpctl remove all >/dev/null 2>&1; sleep 2; rm -f "$OUT"/opensmtpd/*; }
mkdir -p "$OUT/opensmtpd"; chmod 1777 "$OUT/opensmtpd"; rm -f "$OUT"/opensmtpd/*

start 4d 4h
send rcpt-user-unknown unknown@remote.test; get rcpt-user-unknown
send rcpt-account-disabled disabled@remote.test; get rcpt-account-disabled
send rcpt-dnsbl-blocked-554 dnsbl@remote.test; get rcpt-dnsbl-blocked-554
send rcpt-relay-denied relay@remote.test; get rcpt-relay-denied
send rcpt-unknown-and-full unknown@remote.test full@remote.test; get rcpt-unknown-and-full
send data-virus-rejected virus@remote.test; get data-virus-rejected
send data-too-large-552 toobig@remote.test; get data-too-large-552
send host-unknown-nxdomain bob@no-such-domain.test; get host-unknown-nxdomain
sh "$MSG" size-limit-declared opensmtpd bob@small.test --big | as_sender_host sendmail -f alice@sender.test bob@small.test
get size-limit-declared
# Delay warnings after 5 seconds (the first retry comes about 10 seconds after the failure)
start 4d 5s
send delay-warning-connection-refused bob@refused.test; get delay-warning-connection-refused; settle
send delay-warning-greylisted grey@remote.test; sleep 15; smtpctl schedule all >/dev/null; get delay-warning-greylisted; settle
# Envelopes that outlive a queue lifetime of 15 seconds. OpenSMTPD 6.8 reports the expiry as
# a "delayed" notice ("Envelope expired", Action: delayed, Status: 4.4.7).
start 15s 4h
for c in "expired-connection-refused bob@refused.test" "expired-greeting-421 bob@greet-421.test" \
         "expired-greylisted grey@remote.test" "expired-mailbox-full-452 fulltemp@remote.test" \
         "connect-blocked-554-greeting-expired bob@connect-blocked.test"; do
  set -- $c
  send "$1" "$2"; sleep 17; smtpctl schedule all >/dev/null; get "$1"; settle
done
stop
