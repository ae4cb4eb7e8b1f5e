#!/bin/sh
# Courier 1.0.16 (Debian courier-mta): see test/fixtures/bounces/producers/README.md.
# Courier routes every test domain (and sender.test, so bounces come back to the fake remote's
# catcher) through /etc/courier/esmtproutes; timings come from /etc/courier/{queuetime,warntime}.
set -u
. "$(dirname "$0")/common.sh"
CATCH=$OUT/catch
restart() { /usr/sbin/courier stop; sleep 1; as_sender_host /usr/sbin/courier start; sleep 2; }
send() { c=$1; shift; sh "$MSG" "$c" courier "$@" | as_sender_host sendmail -f alice@sender.test "$@"; }
got() { # got CASE: the next message the catcher stored is this case's bounce
  i=0; while [ $i -lt 60 ]; do f=$(ls "$CATCH" | head -n 1); [ -n "$f" ] && break; sleep 1; i=$((i+1)); done
  [ -n "$f" ] || { echo "NO BOUNCE for courier/$1" >&2; return 1; }
  mkdir -p "$FIX/courier"; mv "$CATCH/$f" "$FIX/courier/$1.eml"; echo "collected courier/$1.eml"
}
rm -rf "$CATCH"; mkdir -p "$CATCH"
echo 1w > /etc/courier/queuetime; echo 4h > /etc/courier/warntime; restart

send rcpt-user-unknown unknown@remote.test; got rcpt-user-unknown
send rcpt-mailbox-full-552 full@remote.test; got rcpt-mailbox-full-552
send rcpt-account-disabled disabled@remote.test; got rcpt-account-disabled
send rcpt-dnsbl-blocked-554 dnsbl@remote.test; got rcpt-dnsbl-blocked-554
send rcpt-relay-denied relay@remote.test; got rcpt-relay-denied
send rcpt-unknown-and-full unknown@remote.test full@remote.test; got rcpt-unknown-and-full
send data-spam-rejected-554 spam@remote.test; got data-spam-rejected-554
send data-virus-rejected virus@remote.test; got data-virus-rejected
send data-too-large-552 toobig@remote.test; got data-too-large-552
send connect-blocked-554-greeting bob@connect-blocked.test; got connect-blocked-554-greeting
send host-unknown-nxdomain bob@no-such-domain.test; got host-unknown-nxdomain
sh "$MSG" size-limit-declared courier bob@small.test --big | as_sender_host sendmail -f alice@sender.test bob@small.test
got size-limit-declared

# A delay notice: warn after 5 seconds of retrying a greylisted recipient.
echo 5s > /etc/courier/warntime; restart
send delay-warning-greylisted grey@remote.test; got delay-warning-greylisted
# Give-ups: queue lifetime 20 seconds (retries every few seconds).
echo 4h > /etc/courier/warntime; echo 20s > /etc/courier/queuetime; restart
send expired-mailbox-full-452 fulltemp@remote.test; got expired-mailbox-full-452
send expired-connection-refused bob@refused.test; got expired-connection-refused
send expired-greeting-421 bob@greet-421.test; got expired-greeting-421
send expired-greylisted grey@remote.test; got expired-greylisted
echo 1w > /etc/courier/queuetime; restart
