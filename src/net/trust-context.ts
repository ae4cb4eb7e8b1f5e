import { createSecureContext, rootCertificates } from 'node:tls';
import type { SecureContext } from 'node:tls';
import { nodeOptions, nodeUsesSystemCa } from '../config/environment.js';

/**
 * TLS client contexts that trust exactly a given list of PEM certificates, made once per list.
 *
 * `createSecureContext({ ca: pems })` has OpenSSL parse every PEM and put each on the list
 * of CA names a server would ask client certificates of: for Node's ~145 bundled roots
 * 50-130 ms of CPU on a slow host, in one call that holds the event loop. Node's default
 * context trusts the same roots from a store it parses once per process (at start-up when
 * NODE_EXTRA_CA_CERTS is set, else with the first default context: about half that cost),
 * and a context that is given one more CA certificate (`addCACert`) gets its own copy of that
 * store: the bundled roots (shared, not parsed again) and the certificates added, without
 * NODE_EXTRA_CA_CERTS, which only the shared default store holds (src/crypto/
 * crypto_context.cc, NewRootCertStore and SecureContext::SetCACert). So a list that starts
 * with `tls.rootCertificates` is served by the default context plus its other certificates,
 * about a millisecond once the default store exists, when that store is known to be the
 * bundled one; any other list, and any doubt, takes `ca: pems`. What the two leave different
 * is that list of CA names, which no client context uses.
 */

const contexts = new WeakMap<readonly string[], SecureContext>();

/** A TLS context trusting exactly these PEM certificates, for tls.connect({ secureContext }). */
export function contextTrusting(pems: readonly string[]): SecureContext {
  let context = contexts.get(pems);
  if (!context) {
    const added = afterBundledRoots(pems);
    context =
      (added && bundledRootsAreDefault() && bundledRootsPlus(added)) ||
      createSecureContext({ ca: [...pems] });
    contexts.set(pems, context);
  }
  return context;
}

/** The certificates after Node's bundled roots, when the list starts with all of them in order. */
export function afterBundledRoots(pems: readonly string[]): readonly string[] | undefined {
  if (pems.length < rootCertificates.length) return undefined;
  for (let i = 0; i < rootCertificates.length; i++) if (pems[i] !== rootCertificates[i]) return undefined;
  return pems.slice(rootCertificates.length);
}

/**
 * Whether the root store Node copies for a context is its bundled roots. Not so with
 * --use-openssl-ca (OpenSSL's default paths instead) or the operating system's store
 * (--use-system-ca, NODE_USE_SYSTEM_CA=1 in newer Node versions); nor, possibly, in a build
 * configured with --openssl-use-def-ca-store, which process.config does not show: such builds
 * are distributions' packages, which link the system's OpenSSL (node_shared_openssl) or name a
 * system CA path, so both count as doubt.
 */
export function bundledRootsAreDefault(
  execArgv: readonly string[] = process.execArgv,
  options: readonly string[] = nodeOptions(),
  variables: Record<string, unknown> = process.config.variables as unknown as Record<string, unknown>,
  systemCa: boolean = nodeUsesSystemCa(),
): boolean {
  const flags = [...execArgv, ...options];
  if (flags.some((f) => f === '--use-openssl-ca' || f === '--use-system-ca')) return false;
  if (systemCa) return false;
  return variables.node_shared_openssl === false && !variables.openssl_system_ca_path;
}

interface NativeContext {
  addCACert?: (pem: string) => void;
}

/** The default context with `added` trusted too; undefined if this Node has no addCACert. */
function bundledRootsPlus(added: readonly string[]): SecureContext | undefined {
  const context = createSecureContext();
  const native = (context as unknown as { context?: NativeContext }).context;
  if (typeof native?.addCACert !== 'function') return undefined;
  // At least one certificate, so that the context trades the shared default store (which holds
  // NODE_EXTRA_CA_CERTS) for its own copy of the bundled roots: a bundled root again, a
  // duplicate that the store ignores, when there is nothing else to add.
  for (const pem of added.length > 0 ? added : rootCertificates.slice(0, 1))
    native.addCACert.call(native, pem);
  return context;
}
