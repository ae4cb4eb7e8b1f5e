#!/bin/sh
# Local delivery for the producers: store each message as delivered, one file each.
# usage: deliver.sh MTA [args ignored]
d=/srv/bp/out/$1; mkdir -p "$d"; f="$d/$(date +%Y%m%d-%H%M%S)-$$.eml"
cat > "$f"; chmod 644 "$f"; exit 0
