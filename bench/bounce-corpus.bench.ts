// Time to parse and classify the whole shared bounce corpus (no follow-ups), and the accuracy
// reached. Runs the corpus several times after a warm-up and reports the median.
import { mkdirSync, writeFileSync } from 'node:fs';
import { diagnoseBounce } from '../src/bounce/index.js';
import {
  CORPUS_DIR,
  corpusAvailable,
  loadCorpus,
  percent,
  scoreCorpus,
  summaryText,
} from '../test/support/bounce-corpus.js';

if (!corpusAvailable()) {
  console.log(`bounce corpus not found at ${CORPUS_DIR}; skipped`);
  process.exit(0);
}
const { files, notBounces } = loadCorpus();
const inputs = [...files.values(), ...notBounces.values()];
const bytes = inputs.reduce((n, b) => n + b.length, 0);

async function once(): Promise<number> {
  const t0 = performance.now();
  for (const input of inputs) {
    try {
      await diagnoseBounce(input);
    } catch {
      // not-bounces are refused; that is part of the work
    }
  }
  return performance.now() - t0;
}

await once(); // warm-up: module loading, JIT
const runs: number[] = [];
for (let i = 0; i < 7; i++) runs.push(await once());
runs.sort((a, b) => a - b);
const median = runs[Math.floor(runs.length / 2)]!;
const score = await scoreCorpus();
const result = {
  messages: inputs.length,
  megabytes: Math.round((bytes / 1024 / 1024) * 100) / 100,
  medianMs: Math.round(median),
  minMs: Math.round(runs[0]!),
  maxMs: Math.round(runs[runs.length - 1]!),
  perMessageMs: Math.round((median / inputs.length) * 100) / 100,
  accuracy: {
    reason: percent(score.reason),
    status: percent(score.status),
    hard: percent(score.hard),
    recordCount: percent(score.count),
    notBounces: percent(score.notBounces),
  },
};
console.log(
  `bounce corpus: ${result.messages} messages (${result.megabytes} MB) parsed and classified in ${result.medianMs} ms (median of ${runs.length}; min ${result.minMs}, max ${result.maxMs}), ${result.perMessageMs} ms per message`,
);
console.log(summaryText(score));
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/bounce-corpus.json', JSON.stringify(result, null, 2) + '\n');
