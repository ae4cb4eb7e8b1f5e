import { z } from 'zod';
import { ehloName } from './check.js';
import { duration, integer, kind, setting, text } from './declare.js';
import { parseNetwork } from '../net/address-guard.js';
import { ConfigError, parsePublicUrl, parseSmtpUrl } from './parse.js';
import { webPort } from './service.js';

/**
 * Settings of monitoring (scheduled checks, history) and of its alerts (email, webhooks).
 * See docs/monitoring.md. How to add one: see declare.ts.
 */

export const MONITOR_SETTINGS = [
  setting({
    env: 'MXDOCTOR_MONITOR_MIN_INTERVAL',
    group: 'monitor',
    key: 'minIntervalMs',
    description: 'Shortest schedule a monitor may have (e.g. 5m); shorter schedules are refused.',
    defaultText: '5m',
    default: 5 * 60_000,
    value: duration(1000),
  }),
  setting({
    env: 'MXDOCTOR_MONITOR_RETENTION',
    group: 'monitor',
    key: 'retentionMs',
    description: 'How long a monitor keeps its runs (reports and summaries) unless the monitor sets its own.',
    defaultText: '90d',
    default: 90 * 86_400_000,
    value: duration(3_600_000),
  }),
  setting({
    env: 'MXDOCTOR_MONITOR_MAX_RUNS',
    group: 'monitor',
    key: 'maxRuns',
    description: 'Most runs a monitor keeps unless it sets its own (the oldest go first).',
    default: 500,
    value: integer(1, 10_000),
  }),
  setting({
    env: 'MXDOCTOR_MONITOR_JITTER',
    group: 'monitor',
    key: 'cronJitterMs',
    description:
      'Monitors on the same cron schedule start spread over up to this long (at most a quarter of the interval); "every" schedules are spread over their whole interval.',
    defaultText: '5m',
    default: 5 * 60_000,
    value: duration(0),
  }),
  setting({
    env: 'MXDOCTOR_MONITORS_VIEW',
    group: 'monitor',
    key: 'view',
    description:
      'Who may view monitors, their history and reports: "public" (anyone) or "private" (the admin token or an API token). Changing monitors always needs the admin token.',
    defaultText: 'private',
    default: 'private',
    value: kind(
      (v, n) => {
        const t = v.trim().toLowerCase();
        if (t !== 'public' && t !== 'private') throw new ConfigError(`${n} must be "public" or "private"`);
        return t;
      },
      () => z.enum(['public', 'private']),
    ),
  }),
  setting({
    env: 'MXDOCTOR_ALERT_SMTP_URL',
    group: 'alert',
    key: 'smtpUrl',
    description:
      'SMTP server that sends alert email: smtp://user:password@mail.example.com:587 (STARTTLS) or smtps://…:465. Unset: email destinations cannot be used.',
    defaultText: 'none (email alerts off)',
    default: undefined,
    value: kind(parseSmtpUrl, () => z.string().optional()),
  }),
  setting({
    env: 'MXDOCTOR_ALERT_FROM',
    group: 'alert',
    key: 'from',
    description: 'From address of alert email.',
    defaultText: 'mxdoctor@<EHLO name>',
    default: '',
    value: text(() => z.string().min(3)),
    finish(from, read) {
      const address = from || `mxdoctor@${read(ehloName)}`;
      if (!/^[^\s@<>]+@[^\s@<>]+$/.test(address)) {
        throw new ConfigError(
          `MXDOCTOR_ALERT_FROM ${JSON.stringify(address)} is not an address like mxdoctor@example.com`,
        );
      }
      return address;
    },
  }),
  setting({
    env: 'MXDOCTOR_ALERT_ATTEMPTS',
    group: 'alert',
    key: 'attempts',
    description:
      'Attempts to deliver one alert (email or webhook) before giving up, with exponential backoff.',
    default: 8,
    value: integer(1, 50),
  }),
  setting({
    env: 'MXDOCTOR_ALERT_BACKOFF',
    group: 'alert',
    key: 'backoffMs',
    description:
      'Delay before the second delivery attempt of an alert; it doubles with each further attempt.',
    defaultText: '30s',
    default: 30_000,
    value: duration(1),
  }),
  setting({
    env: 'MXDOCTOR_ALERT_ALLOW_NETWORKS',
    group: 'alert',
    key: 'allowNetworks',
    description:
      'Non-public networks that webhooks may reach (comma-separated addresses or CIDR ranges, e.g. 10.20.0.0/16,fd00:1::/48); public addresses are always allowed. Link-local addresses and cloud metadata endpoints (169.254.169.254, fd00:ec2::254, 100.100.100.200, …) are refused whatever is listed. Independent of MXDOCTOR_ALLOW_PRIVATE, which is about probing mail servers.',
    defaultText: 'none (public addresses only)',
    default: [],
    value: kind(
      (text, name) =>
        text
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean)
          .map((t) => {
            if (!parseNetwork(t))
              throw new ConfigError(
                `${name}: ${JSON.stringify(t)} is not an address or CIDR range such as 10.0.0.0/8 or fd00::/8`,
              );
            return t;
          }),
      () => z.array(z.string().refine((t) => parseNetwork(t) !== undefined, 'an address or CIDR range')),
    ),
  }),
  setting({
    env: 'MXDOCTOR_WEBHOOK_TIMEOUT',
    group: 'alert',
    key: 'webhookTimeoutMs',
    description: 'Deadline of one webhook delivery: DNS, connect, TLS, request and response.',
    defaultText: '10s',
    default: 10_000,
    value: duration(100),
  }),
  setting({
    env: 'MXDOCTOR_PUBLIC_URL',
    group: 'alert',
    key: 'publicUrl',
    description:
      'Address of the web UI as people reach it, for links in alerts (e.g. https://mxdoctor.example.com).',
    defaultText: 'http://localhost:<PORT>',
    default: '',
    value: kind(parsePublicUrl, () => z.string()),
    finish: (url, read) => url || `http://localhost:${read(webPort) || 3000}`,
  }),
];
