#!/bin/sh
# Exim 4.96 (Debian exim4-daemon-light) with exim-producers.conf (at /srv/bp/exim/exim.conf,
# listed in /etc/exim4/trusted_configs): see the README. No daemon: messages are submitted
# with exim4 -odi and queue runs are started by hand (-qff).
set -u
. "$(dirname "$0")/common.sh"
CONF=/srv/bp/exim/exim.conf
ex() { as_sender_host exim4 -C "$CONF" "$@"; }
send() { c=$1; shift; sh "$MSG" "$c" exim "$@" | ex -odi -f alice@sender.test "$@"; }
get() { collect exim "$1" 60; }
drain() { ex -bp | awk '/^ *[0-9]+[smhd] /{print $3}' | xargs -r exim4 -C "$CONF" -Mrm >/dev/null; rm -f "$OUT"/exim/*; }
mkdir -p "$OUT/exim"; chmod 1777 "$OUT/exim"; drain

send rcpt-user-unknown unknown@remote.test; get rcpt-user-unknown
send rcpt-account-disabled disabled@remote.test; get rcpt-account-disabled
send rcpt-dnsbl-blocked-554 dnsbl@remote.test; get rcpt-dnsbl-blocked-554
send rcpt-relay-denied relay@remote.test; get rcpt-relay-denied
send rcpt-mailbox-full-552 full@remote.test; get rcpt-mailbox-full-552
send data-virus-rejected virus@remote.test; get data-virus-rejected
send data-too-large-552 toobig@remote.test; get data-too-large-552
send connect-blocked-554-greeting bob@connect-blocked.test; get connect-blocked-554-greeting
send host-unknown-nxdomain bob@no-such-domain.test; get host-unknown-nxdomain
sh "$MSG" size-limit-declared exim bob@small.test --big | ex -odi -f alice@sender.test bob@small.test
get size-limit-declared

# Delay warnings: delay_warning = 5s, then a queue run
sed -i 's/^delay_warning = .*/delay_warning = 5s/' "$CONF"
send delay-warning-connection-refused bob@refused.test; sleep 7; ex -qff; get delay-warning-connection-refused
drain
send delay-warning-mailbox-full-452 fulltemp@remote.test; sleep 7; ex -qff; get delay-warning-mailbox-full-452
drain
sed -i 's/^delay_warning = .*/delay_warning = 4h/' "$CONF"
# Give-ups: retry for 10 seconds (F,10s,5s), then a forced queue run after that
sed -i 's/^\*   \*   F,.*/*   *   F,10s,5s/' "$CONF"
for c in "expired-connection-refused bob@refused.test" "expired-greeting-421 bob@greet-421.test" \
         "expired-greylisted grey@remote.test" "expired-mailbox-full-452 fulltemp@remote.test"; do
  set -- $c
  send "$1" "$2"; sleep 12; ex -qff; sleep 1; ex -qff; get "$1"; drain
done
sed -i 's/^\*   \*   F,.*/*   *   F,5d,5s/' "$CONF"
