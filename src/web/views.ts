import { join } from 'node:path';
import { Eta } from 'eta';
import { visibleControls } from '../report/visible-text.js';
import { version } from '../version.js';
import { projectRoot } from '../version.js';
import { STATUS_LABELS } from './checks/view-model.js';

/**
 * Server-rendered pages with Eta (auto-escaping on: `<%= %>` escapes &<>"', raw output
 * `<%~ %>` is used only for layout bodies and partials). Everything that came from a
 * remote server reaches the templates as plain strings and is printed escaped, its control
 * characters made visible (a NUL shows as \x00, a bare CR as \x0d), as the CLI prints them.
 */
const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return visibleControls(String(value)).replace(/[&<>"']/g, (c) => HTML[c]!);
}

export interface Views {
  render(name: string, data: Record<string, unknown>): string;
}

export function createViews(dir = join(projectRoot(), 'views')): Views {
  const eta = new Eta({
    views: dir,
    autoEscape: true,
    escapeFunction: escapeHtml,
    cache: true,
    defaultExtension: '.eta',
  });
  const common = {
    version: version(),
    assetVersion: version(),
    statusLabels: STATUS_LABELS,
    refreshSeconds: 0,
    script: '',
    styles: '',
  };
  return {
    render: (name, data) => eta.render(name, { ...common, ...data }),
  };
}
