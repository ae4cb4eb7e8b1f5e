// What the probe's main session to an MX address shows of STARTTLS and of the certificates it
// was shown: the TLS observation of the report (src/tls/model.ts).
import type { Config } from '../config/index.js';
import { chainFacts } from '../tls/certificate.js';
import { hostnameMatches, trustAnchors, verifyChain } from '../tls/evaluate.js';
import { loadTrustStore } from '../tls/trust-store.js';
import type { TlsObservation } from '../tls/model.js';
import type { SessionRecord } from './model.js';
import { OUT_OF_STEP } from './pairing.js';

/**
 * Whether what the session saw of STARTTLS rests on replies out of step: an EHLO reply without
 * STARTTLS, or a refusal of STARTTLS, may belong to another command. A handshake that
 * happened proves itself.
 */
export function starttlsInDoubt(main: SessionRecord): boolean {
  if (main.starttls?.handshake) return false;
  if (main.starttls?.outOfStep) return true;
  return main.ehlo?.outOfStep === true && main.ehlo.capabilities?.starttls !== true;
}

/** What a presented chain shows: its certificates, whether it is trusted, whether it names the host. */
export interface ChainJudgement {
  /** The chain judged (observeTls uses a judgement of the very chain it is given). */
  chainDer: readonly Uint8Array[];
  parsed: ReturnType<typeof chainFacts>;
  trust: ReturnType<typeof verifyChain>;
  hostnameMatches?: boolean;
}

/** Judges a presented chain for `host`. Throws when the configured CA file cannot be read. */
export function judgeChain(
  chainDer: readonly Uint8Array[],
  host: string,
  config: Pick<Config, 'tls'>,
  now: Date,
): ChainJudgement {
  const parsed = chainFacts(chainDer);
  const trust = verifyChain(chainDer, trustAnchors(loadTrustStore(config).pems), now);
  const leaf = parsed.chain[0];
  return {
    chainDer,
    parsed,
    trust,
    ...(leaf ? { hostnameMatches: hostnameMatches(leaf, host).matches } : {}),
  };
}

/**
 * Builds the TLS observation of a session from its handshake and presented chain, with the
 * chain's judgement when it was made already (see probeAddressWith).
 */
export function observeTls(
  main: SessionRecord,
  chainDer: readonly Uint8Array[],
  config: Pick<Config, 'tls'>,
  now: Date,
  judged?: ChainJudgement,
): TlsObservation {
  const caps = main.ehlo?.capabilities;
  const refusedEhlo = main.ehlo?.ehloRefused;
  const seen: TlsObservation['starttls'] = caps
    ? caps.starttls
      ? 'offered'
      : 'not_offered'
    : refusedEhlo && (refusedEhlo.code === 500 || refusedEhlo.code === 502)
      ? 'not_offered'
      : 'unknown';
  const doubt = starttlsInDoubt(main);
  const starttls = doubt ? 'unknown' : seen;
  const obs: TlsObservation = {
    host: main.host,
    address: main.address,
    port: main.port,
    starttls,
    handshake: main.starttls?.handshake ? 'ok' : main.starttls ? 'failed' : 'not_attempted',
    chain: [],
  };
  if (doubt) obs.error = OUT_OF_STEP;
  else if (main.starttls?.error) obs.error = main.starttls.error;
  else if (starttls === 'offered' && !main.starttls && main.error)
    obs.error = `not attempted: ${main.error.message}`;
  const hs = main.starttls?.handshake;
  if (hs) {
    obs.protocol = hs.protocol;
    obs.cipher = hs.cipher;
    const { parsed, trust, hostnameMatches } =
      judged?.chainDer === chainDer ? judged : judgeChain(chainDer, main.host, config, now);
    obs.chain = parsed.chain;
    if (parsed.errors.length > 0) main.starttls!.chainErrors = parsed.errors;
    obs.trusted = trust.trusted;
    if (trust.error) obs.trustError = trust.error;
    if (hostnameMatches !== undefined) obs.hostnameMatches = hostnameMatches;
  }
  return obs;
}
