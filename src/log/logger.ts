import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from '../config/index.js';

/**
 * Structured JSON logs (pino), one object per line. Request lines carry `reqId`, job lines
 * `jobId` (and the `reqId` of the request that queued the job). Secrets never reach the
 * log: authorization headers, cookies and tokens are redacted.
 */
export function createLogger(config: Config, destination?: DestinationStream, role = 'service'): Logger {
  return pino(
    {
      level: config.service.logLevel,
      base: { service: 'mxdoctor', role, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          '*.token',
          '*.password',
          '*.secret',
        ],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
