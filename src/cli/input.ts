import { open, stat } from 'node:fs/promises';
import { UsageError } from './errors.js';

/**
 * Reads a file, or standard input for "-", as UTF-8 text, refusing (without reading on)
 * anything over `max` bytes. `what` names the input in messages ("the list", "the message").
 */
export async function readTextInput(file: string, max: number, what: string): Promise<string> {
  return (await readInputBytes(file, max, what)).toString('utf8');
}

/** readTextInput's bytes, as they are (a message whose signatures cover its exact octets). */
export async function readInputBytes(file: string, max: number, what: string): Promise<Buffer> {
  const tooLarge = (): UsageError =>
    new UsageError(
      `${what} is larger than ${max >= 1024 * 1024 ? `${Math.round(max / 1024 / 1024)} MiB` : `${Math.round(max / 1024)} KiB`}, the most mxdoctor reads; split it`,
    );
  if (file !== '-') {
    let size: number;
    try {
      const s = await stat(file);
      if (!s.isFile()) throw new UsageError(`${file} is not a file`);
      size = s.size;
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      );
    }
    if (size > max) throw tooLarge();
    const handle = await open(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size, max) + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      if (bytesRead > max) throw tooLarge();
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
  if (process.stdin.isTTY) throw new UsageError(`no input: pipe ${what} into standard input, or give a file`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > max) {
      process.stdin.destroy();
      throw tooLarge();
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
