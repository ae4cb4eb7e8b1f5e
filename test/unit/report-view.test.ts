import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadChecks } from '../../src/checks/registry.js';
import { reportView } from '../../src/web/checks/view-model.js';
import { report, tls } from '../support/report-builder.js';

const ALL_CHECKS = await loadChecks();

describe('report page view model', () => {
  it('titles each SMTP transcript with what the session was for, so a reconnect is not mistaken for a repeat', () => {
    const line = (l: string) => ({ atMs: 1, dir: 'S', line: l });
    const session = (kind: string, extra: Record<string, unknown> = {}) => ({
      host: 'mx.example.com',
      address: '192.0.2.25',
      kind,
      transcript: [line('220 mx.example.com ESMTP Postfix')],
      ...extra,
    });
    const r = report({
      tls: [tls('mx.example.com', '192.0.2.25')],
      data: {
        smtp: {
          tls: [],
          sessions: [
            session('probe', { cached: { storedAt: '2026-11-28T11:58:00.000Z' } }),
            session('rcpt'),
            session('reconnect'),
            session('legacy_tls'),
          ],
        },
      },
    });
    const view = reportView(r, ALL_CHECKS, new Date('2026-11-28T12:00:00Z'));
    assert.deepEqual(
      view.transcripts.map((t) => t.title),
      [
        'mx.example.com 192.0.2.25 — cached, observed 2026-11-28T11:58:00.000Z',
        'mx.example.com 192.0.2.25 — recipient tests',
        'mx.example.com 192.0.2.25 — reconnect: the first session deferred every recipient',
        'mx.example.com 192.0.2.25 — TLS 1.0/1.1 handshake',
      ],
    );
  });
});
