# Shared by the producer scripts (sourced). Each MTA delivers alice@sender.test's mail with
# deliver.sh into /srv/bp/out/<mta>/; collect moves the bounce that arrives there into the
# fixtures under the case's name.
HERE=${HERE:-$(cd "$(dirname "$0")" && pwd)}
ROOT=$(cd "$HERE/../.." && pwd)
OUT=/srv/bp/out
FIX=$ROOT/test/fixtures/bounces/producers
MSG="$HERE/message.sh"

# Run a command with the host name mx.sender.test (a private UTS namespace: the machine's own
# name is left alone, and no bounce carries it).
as_sender_host() { unshare -u sh -c 'hostname mx.sender.test; exec "$@"' sh "$@"; }

# collect MTA CASE [SECONDS]: wait for the next message in OUT/MTA, store it as the fixture.
collect() {
  mta=$1; name=$2; wait=${3:-30}; i=0
  mkdir -p "$FIX/$mta" "$OUT/$mta"
  while [ $i -lt "$wait" ]; do
    f=$(ls "$OUT/$mta" 2>/dev/null | head -n 1)
    if [ -n "$f" ]; then
      mv "$OUT/$mta/$f" "$FIX/$mta/$name.eml"; echo "collected $mta/$name.eml"; return 0
    fi
    sleep 1; i=$((i+1))
  done
  echo "NO BOUNCE for $mta/$name after ${wait}s" >&2; return 1
}
