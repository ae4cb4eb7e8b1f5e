import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { indexTrustAnchors } from '../../src/tls/evaluate.js';
import { loadTrustStore } from '../../src/tls/trust-store.js';
import { prepareWhileConnecting } from '../../src/smtp/prepare.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('prepareWhileConnecting', () => {
  it('indexes the trust anchors in the background, over several turns of the event loop', async () => {
    const config = { tls: {} };
    const pems = loadTrustStore(config).pems;
    prepareWhileConnecting(config);
    // Nothing is done before the caller has gone on to open its connections.
    assert.equal(indexTrustAnchors(pems, 0), false);
    let turns = 0;
    while (!indexTrustAnchors(pems, 0) && turns < 10_000) {
      await turn();
      turns++;
    }
    assert.equal(indexTrustAnchors(pems, 0), true, 'indexed in the end');
    assert.ok(turns > 2, `all in ${turns} turns: the work is not sliced`);
  });

  it('leaves an unreadable CA file to the probe that reports it', () => {
    assert.doesNotThrow(() => prepareWhileConnecting({ tls: { caFile: '/nonexistent/ca.pem' } }));
  });
});
