import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import type { ServiceMode } from '../server/start.js';

/**
 * `mxdoctor serve` (web + worker: `npm start`), `mxdoctor web` and `mxdoctor worker`
 * (`npm run web`, `npm run worker`). Configuration comes from the environment (README).
 * The service modules are loaded only when one of these commands runs, so `mxdoctor check`
 * stays quick to start.
 */
async function run(mode: ServiceMode): Promise<void> {
  const config = loadConfig();
  const { startService } = await import('../server/start.js');
  const service = await startService({ mode, config, handleSignals: true, firstRun: true });
  if (mode !== 'web') (await import('../server/heap.js')).tuneHeapForChecks(service.log);
  await service.stopped;
  // Stopped means every job is finished or back in the queue and every connection of ours is
  // closed. What may still be open belongs to work that was abandoned at the end of the grace
  // period (an alert email in flight: nodemailer cannot cancel it) and ends only by its own
  // timeouts; the process must not wait for it.
  const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
  if (open.length > 0) service.log.debug({ open }, 'exiting with abandoned work still open');
  process.exit(process.exitCode ?? 0);
}

export function registerService(program: Command, _setExit?: (code: number) => void): void {
  program
    .command('serve')
    .description(
      'run the web server and a worker in one process (npm start); starts a private Redis when needed',
    )
    .action(() => run('all'));
  program
    .command('web')
    .description('run the web server only (npm run web); workers run elsewhere against the same Redis')
    .action(() => run('web'));
  program
    .command('worker')
    .description('run a worker only (npm run worker); run as many as you like against one Redis')
    .action(() => run('worker'));
}
