import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FENCE = pathToFileURL(join(ROOT, 'test', 'support', 'network-fence.mjs')).href;
/**
 * The code cache of compiled runs (src/cli/bundle-loader.ts) goes here, not to the user's own
 * cache directory: what the tests run (usage errors, odd flags) must not become the cache the
 * user's commands and the benches take.
 */
export const TEST_CACHE_HOME = join(tmpdir(), `mxdoctor-tests-${process.getuid?.() ?? 'user'}`);

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `mxdoctor` command (bin/mxdoctor.js) as a child process, asynchronously so
 * that fixture servers in this process keep answering. By default it runs from the
 * TypeScript sources (always current); `compiled: true` runs dist/ as shipped. The network
 * fence is loaded into the child as well.
 */
export function runMxdoctor(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; compiled?: boolean; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      XDG_CACHE_HOME: TEST_CACHE_HOME,
      NODE_OPTIONS: `--import=${FENCE}`,
      NO_COLOR: '1',
      ...(options.compiled ? {} : { MXDOCTOR_FROM_SOURCE: '1' }),
      ...options.env,
    };
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'mxdoctor.js'), ...args], { env, cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else child.stdin.end();
  });
}
