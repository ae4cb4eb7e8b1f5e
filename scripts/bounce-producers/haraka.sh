#!/bin/sh
# Haraka 3.3.4 (npm, run from /srv/bp/haraka, never from the repository): see the README.
# Haraka listens on 127.0.0.1:2600; its plugin route_test (haraka-route_test.js) sends the
# test domains and sender.test (the bounces) to the fake remote.
set -u
. "$(dirname "$0")/common.sh"
CATCH=$OUT/catch
send() { c=$1; shift; "$HERE/smtp-submit.py" 127.0.0.1 2600 "$c" haraka "$@"; }
got() {
  i=0; f=""; while [ $i -lt "${2:-60}" ]; do f=$(ls "$CATCH" | head -n 1); [ -n "$f" ] && break; sleep 1; i=$((i+1)); done
  [ -n "$f" ] || { echo "NO BOUNCE for haraka/$1" >&2; return 1; }
  mkdir -p "$FIX/haraka"; mv "$CATCH/$f" "$FIX/haraka/$1.eml"; echo "collected haraka/$1.eml"
}
rm -rf "$CATCH"; mkdir -p "$CATCH"
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
send size-limit-declared bob@small.test --big; got size-limit-declared
# temp_fail_intervals=5s,5s: two retries, then the bounce
send expired-mailbox-full-452 fulltemp@remote.test; got expired-mailbox-full-452
send expired-connection-refused bob@refused.test; got expired-connection-refused
send expired-greeting-421 bob@greet-421.test; got expired-greeting-421
send expired-greylisted grey@remote.test; got expired-greylisted
