// npm run eval:bounces — how well bounce diagnosis holds on bounces it was not written for.
//
// The plain corpus score (test/integration/bounce-corpus.test.ts) flatters the classifier: its
// phrase rules were written while looking at those very samples. This evaluation groups the
// corpus by the MTA or provider that produced each message (the file name's prefix — read here
// only, never by the classifier) and scores each group leave-one-group-out: with every phrase
// rule switched off that fires on that group's samples and on no other group's. Such a rule
// exists only because of that producer, so a producer nobody has seen would not have it.
// Rule provenance is derived, not declared: a first pass over the whole corpus records, for
// every phrase rule, which groups' samples it fires on (fires = is among a record's evidence,
// winning or not).
//
// Prints the grouped score beside the plain one, the per-group table, the rules each group
// owns, the confusion of the grouped run and the time per message. `--json` prints the same
// as one JSON object. Exits 0 whatever the score (the ratchet is the corpus test's job).
import { PHRASE_RULES } from '../src/bounce/index.js';
import {
  CORPUS_DIR,
  confusionText,
  corpusAvailable,
  loadCorpus,
  percent,
  scoreGrouped,
  summaryText,
} from '../test/support/bounce-corpus.js';
import type { CorpusScore } from '../test/support/bounce-corpus.js';

const asJson = process.argv.includes('--json');
if (!corpusAvailable()) {
  console.error(`eval:bounces: the bounce corpus is not at ${CORPUS_DIR}; nothing to evaluate.`);
  process.exit(1);
}

const corpus = loadCorpus();
const { grouped, plain, groups: perGroup, firesIn } = await scoreGrouped();
// The same with the project's bounces from eight real MTAs as more groups (test/fixtures/bounces/producers).
const wide = await scoreGrouped({ withProducers: true });
const producerGroups = wide.groups.filter((g) => g.group.startsWith('producer-'));
const owned = perGroup.reduce((n, g) => n + g.rulesOff.length, 0);

const messages = corpus.files.size + corpus.notBounces.size;
const refused = (s: CorpusScore): number => s.mismatches.filter((m) => m.field === 'error').length;
const result = {
  corpus: CORPUS_DIR,
  groups: perGroup.length,
  phraseRules: PHRASE_RULES.length,
  rulesFiringOnCorpus: firesIn.size,
  rulesOwnedByOneGroup: owned,
  grouped: {
    reason: percent(grouped.reason),
    status: percent(grouped.status),
    hard: percent(grouped.hard),
    refused: refused(grouped),
  },
  plain: {
    reason: percent(plain.reason),
    status: percent(plain.status),
    hard: percent(plain.hard),
    refused: refused(plain),
  },
  msPerMessage: Math.round((plain.ms / messages) * 1000) / 1000,
  perGroup: perGroup.map((g) => ({
    group: g.group,
    files: g.files,
    records: g.held.records,
    reasonPlain: `${g.plainReason.right}/${g.plainReason.total}`,
    reasonGrouped: `${g.held.reason.right}/${g.held.reason.total}`,
    rulesOff: g.rulesOff,
  })),
  confusion: grouped.confusion,
  withProducers: {
    groups: wide.groups.length,
    grouped: {
      reason: percent(wide.grouped.reason),
      status: percent(wide.grouped.status),
      hard: percent(wide.grouped.hard),
      refused: refused(wide.grouped),
    },
    perGroup: producerGroups.map((g) => ({
      group: g.group,
      reasonGrouped: `${g.held.reason.right}/${g.held.reason.total}`,
      rulesOff: g.rulesOff,
    })),
  },
};

if (asJson) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const pct = (x: { reason: number; status: number; hard: number; refused: number }): string =>
    `reason ${x.reason}%  status ${x.status}%  hard/soft ${x.hard}%  refused ${x.refused}`;
  console.log(
    `Bounce diagnosis on ${corpus.files.size} corpus messages in ${perGroup.length} producer groups`,
  );
  console.log(`  grouped (leave-one-group-out): ${pct(result.grouped)}`);
  console.log(`  plain (rules see every sample): ${pct(result.plain)}`);
  console.log(
    `  grouped, with the real-MTA fixtures as ${producerGroups.length} more groups: ${pct(result.withProducers.grouped)}`,
  );
  console.log(
    `  ${result.phraseRules} phrase rules, ${result.rulesFiringOnCorpus} fire on the corpus, ${result.rulesOwnedByOneGroup} on one group only; ${result.msPerMessage} ms per message`,
  );
  console.log('\nPer group (reason right, plain → grouped; rules switched off):');
  for (const g of result.perGroup) {
    const changed = g.reasonPlain !== g.reasonGrouped ? '  ←' : '';
    console.log(
      `  ${g.group.padEnd(26)} ${g.reasonPlain.padStart(6)} → ${g.reasonGrouped.padEnd(6)}${changed}${g.rulesOff.length ? `  [${g.rulesOff.join(', ')}]` : ''}`,
    );
  }
  for (const g of result.withProducers.perGroup)
    console.log(
      `  ${g.group.padEnd(26)}        ${g.reasonGrouped.padEnd(6)}${g.rulesOff.length ? `  [${g.rulesOff.join(', ')}]` : ''}`,
    );
  console.log('\nGrouped run: wrong reasons (expected → got):');
  console.log(confusionText(grouped));
  if (process.argv.includes('-v')) {
    console.log('\nGrouped run: mismatches');
    for (const m of grouped.mismatches.filter((x) => x.field !== 'hard'))
      console.log(
        `  ${m.field} ${m.file}#${m.record}: expected ${m.expected}, got ${m.got}${m.diagnostic ? ` — ${m.diagnostic}` : ''}`,
      );
  }
  console.log(`\nPlain run: ${summaryText(plain)}`);
}
