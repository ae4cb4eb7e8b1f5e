import type { Config } from '../config/index.js';
import { trustAnchors } from '../tls/evaluate.js';
import { loadTrustStore, trustContext } from '../tls/trust-store.js';
import { prepareWording } from './wording.js';

/**
 * The CPU that judging the sessions will need, paid while their first connections are in
 * flight (a greeting is at least two round trips away) instead of when the replies are
 * there: the trust anchors that the MX certificates are checked against and the TLS context
 * of the MTA-STS policy fetch (its lookups are under way too), both parsed from ~150 root
 * certificates once per process, and the scanner of reply wordings. Tens of milliseconds each;
 * one task per turn of the event loop, so that a reply that comes meanwhile waits for one at most.
 */
export function prepareWhileConnecting(config: Pick<Config, 'tls'>): void {
  const steps = [
    () => trustAnchors(loadTrustStore(config).pems),
    () => trustContext(loadTrustStore(config)),
    () => prepareWording(),
  ];
  const next = (): void => {
    const step = steps.shift();
    if (!step) return;
    try {
      step();
    } catch {
      // An unreadable CA file: the probe's own use of the store reports it.
      return;
    }
    setImmediate(next);
  };
  setImmediate(next);
}
