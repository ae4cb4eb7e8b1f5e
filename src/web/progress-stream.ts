import type { Request, Response } from 'express';
import type { ProgressUpdate } from '../checks/types.js';
import type { ProgressHub } from './progress-hub.js';

/** What a job's progress stream needs to know about the job. */
export interface StreamedJob {
  state: string;
  progress?: ProgressUpdate | null | undefined;
}

/**
 * Serves a job's live progress as Server-Sent Events (`progress`, then one `done`), for the
 * check and bounce pages alike: subscribes before reading the job's state so no event in
 * between is lost, sends a comment every 15 s so proxies keep the stream open, and ends when
 * the job ends, the client goes away or the service shuts down.
 */
export async function streamProgress(
  req: Request,
  res: Response,
  id: string,
  hub: ProgressHub | undefined,
  status: (id: string) => Promise<StreamedJob | undefined>,
  /** What the reader may see of a progress update (e.g. with someone else's addresses hidden). */
  shown: (progress: ProgressUpdate) => ProgressUpdate = (p) => p,
): Promise<void> {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no',
    Connection: 'keep-alive',
  });
  res.write('retry: 3000\n\n');
  let ended = false;
  const send = (event: string, data: unknown): void => {
    if (!ended) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const unsubscribe =
    hub?.subscribe(id, (e) => {
      if (e.type === 'progress') send('progress', shown(e.progress));
      else if (e.type === 'closing') end();
      else {
        send('done', { status: e.type === 'completed' ? 'completed' : 'failed' });
        end();
      }
    }) ?? (() => {});
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  function end(): void {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearInterval(heartbeat);
    res.end();
  }
  req.on('close', end);
  try {
    const s = await status(id);
    if (!s || !(s.state === 'queued' || s.state === 'active')) {
      send('done', { status: s?.state ?? 'gone' });
      end();
    } else if (s.progress) send('progress', shown(s.progress));
  } catch (err) {
    req.log.warn({ err: { message: (err as Error).message } }, 'progress stream ended: state unavailable');
    end();
  }
}
