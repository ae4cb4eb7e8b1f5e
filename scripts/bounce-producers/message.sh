#!/bin/sh
# Prints the test message every producer sends: message.sh CASE MTA RCPT [RCPT...] [--big]
# The recipients are the To header; the body names the case so a bounce's returned copy shows it.
case_name=$1; mta=$2; shift 2
big=0; to=""
for a in "$@"; do
  if [ "$a" = --big ]; then big=1; else to="${to:+$to, }$a"; fi
done
cat <<MSG
From: Alice Sender <alice@sender.test>
To: $to
Subject: mxdoctor producer test: $mta $case_name
Date: $(LC_ALL=C date -R)
Message-ID: <$mta.$case_name.$(date +%s)@sender.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

This message was sent by scripts/bounce-producers to make $mta write a bounce
for the case "$case_name".
MSG
if [ $big = 1 ]; then
  i=0
  while [ $i -lt 60 ]; do
    echo "Padding line $i to make the message larger than the remote's SIZE limit of 2000 bytes."
    i=$((i+1))
  done
fi
