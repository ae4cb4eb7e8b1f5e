#!/bin/sh
# Sendmail 8.17 (Debian sendmail-bin): see test/fixtures/bounces/producers/README.md.
# Needs the fake remote running and /srv/bp/sendmail/producers.cf built from sendmail.mc.
set -u
. "$(dirname "$0")/common.sh"
CF=/srv/bp/sendmail/producers.cf
sm() { as_sender_host sendmail -C "$CF" "$@"; }
send() { # send CASE RCPT... : one message, delivered at once (-odi)
  c=$1; shift
  sh "$MSG" "$c" sendmail "$@" | sm -odi -f alice@sender.test "$@"
}
rm -rf "$OUT/sendmail"; mkdir -p "$OUT/sendmail"

send rcpt-user-unknown unknown@remote.test; collect sendmail rcpt-user-unknown
send rcpt-mailbox-full-552 full@remote.test; collect sendmail rcpt-mailbox-full-552
send rcpt-account-disabled disabled@remote.test; collect sendmail rcpt-account-disabled
send rcpt-dnsbl-blocked-554 dnsbl@remote.test; collect sendmail rcpt-dnsbl-blocked-554
send rcpt-relay-denied relay@remote.test; collect sendmail rcpt-relay-denied
send rcpt-unknown-and-full unknown@remote.test full@remote.test; collect sendmail rcpt-unknown-and-full
send data-spam-rejected-554 spam@remote.test; collect sendmail data-spam-rejected-554
send data-virus-rejected virus@remote.test; collect sendmail data-virus-rejected
send data-too-large-552 toobig@remote.test; collect sendmail data-too-large-552
send connect-blocked-554-greeting bob@connect-blocked.test; collect sendmail connect-blocked-554-greeting
send host-unknown-nxdomain bob@no-such-domain.test; collect sendmail host-unknown-nxdomain
sh "$MSG" size-limit-declared sendmail bob@small.test --big | sm -odi -f alice@sender.test bob@small.test
collect sendmail size-limit-declared

# Temporary failures stay queued; queue runs with short timeouts give the warning and the bounce.
send delay-warning-greylisted grey@remote.test
sleep 2; sm -q -O Timeout.queuewarn=1s; collect sendmail delay-warning-greylisted
send expired-mailbox-full-452 fulltemp@remote.test
send expired-connection-refused bob@refused.test
send expired-greeting-421 bob@greet-421.test
sleep 2
sm -qRfulltemp@ -O Timeout.queuereturn=1s; collect sendmail expired-mailbox-full-452
sm -qRrefused.test -O Timeout.queuereturn=1s; collect sendmail expired-connection-refused
sm -qRgreet-421.test -O Timeout.queuereturn=1s; collect sendmail expired-greeting-421
sm -qRgrey@ -O Timeout.queuereturn=1s; collect sendmail expired-greylisted
