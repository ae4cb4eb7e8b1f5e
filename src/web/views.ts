import { join } from 'node:path';
import { Eta } from 'eta';
import { version } from '../version.js';
import { projectRoot } from '../version.js';
import { STATUS_LABELS } from './checks/view-model.js';

/**
 * Server-rendered pages with Eta (auto-escaping on: `<%= %>` escapes &<>"', raw output
 * `<%~ %>` is used only for layout bodies and partials). Everything that came from a
 * remote server reaches the templates as plain strings and is printed escaped.
 */
export interface Views {
  render(name: string, data: Record<string, unknown>): string;
}

export function createViews(dir = join(projectRoot(), 'views')): Views {
  const eta = new Eta({ views: dir, autoEscape: true, cache: true, defaultExtension: '.eta' });
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
