import { createRequire } from 'node:module';
import type Forge from 'node-forge';

/**
 * node-forge with only the parts mxdoctor's certificate reader uses (ASN.1, OIDs, byte
 * utilities): the package's entry point loads all of it (TLS, ciphers, PKCS#12…), 20–30 ms of
 * every `mxdoctor check`'s start-up. The command line's bundle holds these files itself instead
 * of this module (scripts/bundle-cli.mjs, `inBundle`), so that they are compiled from the code
 * cache like the rest.
 */
const require = createRequire(import.meta.url);
require('node-forge/lib/asn1.js');
require('node-forge/lib/oids.js');
const forge = require('node-forge/lib/forge.js') as typeof Forge;
export default forge;
