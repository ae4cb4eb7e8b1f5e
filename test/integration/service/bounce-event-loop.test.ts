import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { diagnoseBounce } from '../../../src/bounce/index.js';
import { startTestService } from '../../support/service.js';
import type { TestService } from '../../support/service.js';

/**
 * Issue 13 §1: in the combined process (web and worker, one event loop) a bounce that takes
 * long to parse must not stop the web. While the service diagnoses a pasted 5 MB report naming
 * 60,000 recipients (pasted text: no MIME parsing, whose stream reading would let the loop
 * turn now and then; every step is synchronous), /healthz keeps answering: its slowest answer
 * is a fraction of the time the parse takes. Parsed in the event loop's thread, /healthz
 * would wait for all of it. The client asking /healthz runs in a thread of its own, as an
 * outside client would: the service runs in this test's thread.
 */
const PROBE = `
  const { parentPort, workerData } = require('node:worker_threads');
  let stop = false;
  parentPort.on('message', () => { stop = true; });
  (async () => {
    const latencies = [];
    while (!stop) {
      const start = performance.now();
      const res = await fetch(workerData.url + '/healthz');
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error('/healthz answered ' + res.status);
      latencies.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 10));
    }
    parentPort.postMessage(latencies);
  })();
`;

/** Asks /healthz from another thread until stopped; the time of each answer. */
function probeHealth(url: string): { stop: () => Promise<number[]> } {
  const worker = new Worker(PROBE, { eval: true, workerData: { url } });
  const answers = new Promise<number[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    async stop() {
      worker.postMessage('stop');
      try {
        return await answers;
      } finally {
        await worker.terminate();
      }
    },
  };
}
function largeReport(): string {
  return Array.from(
    { length: 60_000 },
    (_, i) => `<user${i}@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1 User unknown`,
  ).join('\n');
}

describe('the web while a large bounce is parsed', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
  });
  after(async () => t.stop());

  it('answers /healthz in a fraction of the parse time while the worker parses', async () => {
    const report = largeReport();
    // How long the parse takes in this thread: what /healthz would wait without the threads.
    const t0 = performance.now();
    assert.equal((await diagnoseBounce(report)).bounces.length, 500);
    const inThread = performance.now() - t0;

    const res = await fetch(`${t.url}/api/v1/bounces?followups=false`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: report,
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };

    const probe = probeHealth(t.url);
    let status: { status: string; diagnosis?: { bounces: unknown[] } };
    for (;;) {
      status = (await (await fetch(`${t.url}/api/v1/bounces/${id}`)).json()) as typeof status;
      if (!['queued', 'active'].includes(status.status)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const latencies = await probe.stop();

    assert.equal(status.status, 'completed');
    assert.equal(status.diagnosis?.bounces.length, 500);
    assert.ok(latencies.length >= 5, `only ${latencies.length} /healthz answers during the parse`);
    const slowest = Math.max(...latencies);
    assert.ok(
      slowest < inThread / 3,
      `/healthz took up to ${Math.round(slowest)} ms while a ${Math.round(inThread)} ms parse ran (${latencies.length} answers)`,
    );
  });
});
