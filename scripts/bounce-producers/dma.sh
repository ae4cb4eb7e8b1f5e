#!/bin/sh
# DragonFly Mail Agent 0.13 (Debian dma) with SMARTHOST 127.0.0.26 / PORT 2525 (dma.conf): every
# message goes to the fake remote, and so do dma's bounces to alice@sender.test (its catcher
# stores them). dma retries temporary failures for days, so only permanent refusals are made.
set -u
. "$(dirname "$0")/common.sh"
CATCH=$OUT/catch
send() { c=$1; shift; sh "$MSG" "$c" dma "$@" | as_sender_host /usr/sbin/sendmail -f alice@sender.test "$@"; }
got() {
  i=0; f=""; while [ $i -lt 30 ]; do f=$(ls "$CATCH" | head -n 1); [ -n "$f" ] && break; sleep 1; i=$((i+1)); done
  [ -n "$f" ] || { echo "NO BOUNCE for dma/$1" >&2; return 1; }
  mkdir -p "$FIX/dma"; mv "$CATCH/$f" "$FIX/dma/$1.eml"; echo "collected dma/$1.eml"
}
rm -rf "$CATCH"; mkdir -p "$CATCH"
send rcpt-user-unknown unknown@remote.test; got rcpt-user-unknown
send rcpt-mailbox-full-552 full@remote.test; got rcpt-mailbox-full-552
send rcpt-account-disabled disabled@remote.test; got rcpt-account-disabled
send rcpt-dnsbl-blocked-554 dnsbl@remote.test; got rcpt-dnsbl-blocked-554
send rcpt-relay-denied relay@remote.test; got rcpt-relay-denied
send data-spam-rejected-554 spam@remote.test; got data-spam-rejected-554
send data-virus-rejected virus@remote.test; got data-virus-rejected
send data-too-large-552 toobig@remote.test; got data-too-large-552
