#!/bin/sh
# Postfix 3.7.11 (Debian postfix), and Dovecot 2.3.19.1 LMTP behind it: see the README.
# Needs the fake remote, the fake DNS (127.0.0.53, Postfix's chroot resolv.conf) and Dovecot
# (dovecot -c /srv/bp/dovecot/dovecot.conf) running, and main.cf as postfix-main.cf says.
set -u
. "$(dirname "$0")/common.sh"
pf() { as_sender_host "$@"; }
send() { c=$1; shift; sh "$MSG" "$c" postfix "$@" | pf sendmail -f alice@sender.test "$@"; }
get() { collect postfix "$1" 90; }
drain() { postsuper -d ALL >/dev/null 2>&1; rm -f "$OUT"/postfix/*; }
rm -rf "$OUT/postfix"; mkdir -p "$OUT/postfix"; chmod 1777 "$OUT/postfix"; drain
postconf -e maximal_queue_lifetime=5d bounce_queue_lifetime=5d delay_warning_time=0; postfix reload

send rcpt-user-unknown unknown@remote.test; get rcpt-user-unknown
send rcpt-account-disabled disabled@remote.test; get rcpt-account-disabled
send rcpt-dnsbl-blocked-554 dnsbl@remote.test; get rcpt-dnsbl-blocked-554
send rcpt-relay-denied relay@remote.test; get rcpt-relay-denied
send data-virus-rejected virus@remote.test; get data-virus-rejected
send data-too-large-552 toobig@remote.test; get data-too-large-552
send connect-blocked-554-greeting bob@connect-blocked.test; get connect-blocked-554-greeting
send host-unknown-nxdomain bob@no-such-domain.test; get host-unknown-nxdomain
send null-mx bob@nullmx.test; get null-mx
sh "$MSG" size-limit-declared postfix bob@small.test --big | pf sendmail -f alice@sender.test bob@small.test
get size-limit-declared
# Dovecot LMTP as the remote (lmtp.test): unknown user, over quota at end of DATA
send lmtp-dovecot-user-unknown nobody@lmtp.test; get lmtp-dovecot-user-unknown
send lmtp-dovecot-over-quota-data overquota@lmtp.test; get lmtp-dovecot-over-quota-data

# A delay notice for a remote that refuses connections (delay_warning_time 1s, retries every 5s)
postconf -e delay_warning_time=1s; postfix reload
send delay-warning-connection-refused bob@refused.test; get delay-warning-connection-refused
send delay-warning-mailbox-full-452 fulltemp@remote.test; get delay-warning-mailbox-full-452
drain
# Give-ups: a queue lifetime of 0 returns a message at its first temporary failure
postconf -e delay_warning_time=0 maximal_queue_lifetime=0 bounce_queue_lifetime=0; postfix reload
send expired-connection-refused bob@refused.test; get expired-connection-refused
send expired-greeting-421 bob@greet-421.test; get expired-greeting-421
send expired-greeting-timeout bob@silent.test; get expired-greeting-timeout
send expired-greylisted grey@remote.test; get expired-greylisted
send expired-mailbox-full-452 fulltemp@remote.test; get expired-mailbox-full-452
postconf -e maximal_queue_lifetime=5d bounce_queue_lifetime=5d; postfix reload

# Postfix skips a server whose greeting is 5xx (smtp_skip_5xx_greeting) and defers: with a queue
# lifetime of 0 that deferral is returned at once.
postconf -e maximal_queue_lifetime=0 bounce_queue_lifetime=0; postfix reload
send connect-blocked-554-greeting-expired bob@connect-blocked.test; get connect-blocked-554-greeting-expired
postconf -e maximal_queue_lifetime=5d bounce_queue_lifetime=5d; postfix reload

# Dovecot's own notices (a Sieve reject) come back through Postfix's local delivery to alice:
# they are stored under dovecot/.
send sieve-reject sieverej@lmtp.test; collect postfix ../dovecot/sieve-reject 90
# Over quota at RCPT: lmtp_rcpt_check_quota = yes
sed -i 's/^lmtp_rcpt_check_quota = no/lmtp_rcpt_check_quota = yes/' /srv/bp/dovecot/dovecot.conf; doveadm -c /srv/bp/dovecot/dovecot.conf reload; sleep 3
send lmtp-dovecot-over-quota-rcpt overquota@lmtp.test; get lmtp-dovecot-over-quota-rcpt
sed -i 's/^lmtp_rcpt_check_quota = yes/lmtp_rcpt_check_quota = no/' /srv/bp/dovecot/dovecot.conf; doveadm -c /srv/bp/dovecot/dovecot.conf reload
