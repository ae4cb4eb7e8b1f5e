import { isIPv6 } from 'node:net';
import type { Config } from '../config/index.js';
import { indexTrustAnchors } from '../tls/evaluate.js';
import { loadTrustStore, trustContext } from '../tls/trust-store.js';
import type { TrustStore } from '../tls/trust-store.js';
import { LEGACY_TLS, starttlsContext } from './connection.js';
import { prepareWording } from './wording.js';

/** Work per turn of the event loop, so that a reply that comes meanwhile waits for one slice at most. */
const SLICE_MS = 2;
/** Trust anchors indexed per step: each is a base64 decode and a short DER walk. */
const ANCHORS_PER_STEP = 8;

/**
 * The CPU that judging the sessions will need, paid while their first connections are in
 * flight (a greeting is at least two round trips away) instead of when the replies are
 * there. First the TLS context of the MTA-STS policy fetch (its lookups are under way too):
 * about a millisecond, except that the first default TLS context of a process makes OpenSSL
 * parse Node's ~150 bundled roots, one call of some 50 ms on a slow host that cannot be cut
 * up, best done right away while the connections' first round trip is on the wire. Then the
 * client context of STARTTLS (under a millisecond, otherwise paid when a server's "220" to
 * STARTTLS is in). Then Node's IPv6 address expression, which tls.connect runs on every
 * servername (STARTTLS, the policy fetch) and V8 compiles on its first two runs (some 4–7 ms
 * on a slow host). Then, a slice of a couple of milliseconds per turn of the event loop, the
 * index of the trust anchors that the MX certificates are checked against, the scanner of
 * reply wordings, and, when the probe runs one (`legacyTls`), the legacy-TLS session's client
 * context.
 */
export function prepareWhileConnecting(
  config: Pick<Config, 'tls'>,
  options: { legacyTls?: boolean } = {},
): void {
  let store: TrustStore;
  try {
    store = loadTrustStore(config);
  } catch {
    // An unreadable CA file: the probe's own use of the store reports it.
    return;
  }
  const steps = [
    () => {
      trustContext(store);
      return true;
    },
    () => {
      starttlsContext({});
      return true;
    },
    () => {
      // Twice: V8 compiles an expression to bytecode on its first run, to machine code on its second.
      isIPv6('::1');
      isIPv6('::1');
      return true;
    },
    () => indexTrustAnchors(store.pems, ANCHORS_PER_STEP),
    () => {
      prepareWording();
      return true;
    },
  ];
  if (options.legacyTls)
    steps.push(() => {
      starttlsContext(LEGACY_TLS);
      return true;
    });
  const slice = (): void => {
    const until = performance.now() + SLICE_MS;
    try {
      while (steps.length > 0 && performance.now() < until) if (steps[0]!()) steps.shift();
    } catch {
      // Whatever failed here fails again, and is reported, where the probe needs it.
      return;
    }
    if (steps.length > 0) setImmediate(slice);
  };
  setImmediate(slice);
}
