import { parentPort } from 'node:worker_threads';
import { diagnoseBounce } from './diagnose.js';
import { BounceInputError } from './errors.js';
import type { ParseReply, ParseRequest } from './parse-pool.js';

/**
 * The worker-thread side of the parse pool (parse-pool.ts): diagnoses one message at a time
 * and answers with the diagnosis, the reason the input is unusable, or the error.
 */
const port = parentPort;
if (!port) throw new Error('parse-worker runs as a worker thread of the bounce parse pool');

// Loaded: the pool starts the budget of a message when it hands it to a ready thread.
port.postMessage({ ready: true } satisfies ParseReply);

port.on('message', (request: ParseRequest) => {
  void diagnoseBounce(request.input, { maxBytes: request.maxBytes }).then(
    (diagnosis) => port.postMessage({ id: request.id, diagnosis } satisfies ParseReply),
    (err: unknown) =>
      port.postMessage(
        (err instanceof BounceInputError
          ? { id: request.id, inputError: { code: err.code, message: err.message } }
          : {
              id: request.id,
              error: err instanceof Error ? err.message : String(err),
            }) satisfies ParseReply,
      ),
  );
});
