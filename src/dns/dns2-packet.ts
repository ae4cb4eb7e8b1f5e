import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Packet as Dns2Packet } from 'dns2';

/**
 * dns2's packet codec alone: the package's entry point also loads its servers and its DoH,
 * UDP and TCP clients, which cost every `mxdoctor check` 25–35 ms of start-up and are never
 * used (the package's exports map offers no subpath, hence the path next to its entry). The
 * command line's bundle holds the codec itself instead of this module (scripts/bundle-cli.mjs,
 * `inBundle`), so that it is compiled from the code cache like the rest.
 */
const require = createRequire(import.meta.url);
const Packet = require(join(dirname(require.resolve('dns2')), 'packet.js')) as typeof Dns2Packet;
export default Packet;
