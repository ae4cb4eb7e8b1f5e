import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { startReceiver } from '../inbound/receiver.js';
import type { Receiver } from '../inbound/receiver.js';
import { receiverSettings } from '../inbound/setup.js';
import type { InboundTests } from '../queue/jobs/inbound.js';

/**
 * Step 3b of starting the service (web processes, when MXDOCTOR_INBOUND_LISTEN is set): the
 * inbound test's SMTP receiver, which looks one-time addresses up and hands accepted messages
 * to the inbound tests (stored, then analysed by a worker). Any number of web processes may
 * run it: the tests live in Redis.
 */
export async function startInboundReceiver(o: {
  config: Config;
  log: Logger;
  tests: InboundTests;
}): Promise<Receiver | undefined> {
  if (!o.config.inbound.listen) return undefined;
  const settings = await receiverSettings(o.config);
  const log = o.log.child({ component: 'inbound' });
  const receiver = await startReceiver({
    ...settings,
    lookup: (token) => o.tests.lookup(token),
    deliver: (token, delivery, message) => o.tests.deliver(token, delivery, message),
    log,
  });
  if (settings.tls.kind === 'self-signed')
    log.warn(
      'inbound: STARTTLS uses a self-signed certificate made at start; set MXDOCTOR_INBOUND_TLS_CERT and MXDOCTOR_INBOUND_TLS_KEY in production',
    );
  return receiver;
}
