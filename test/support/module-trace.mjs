// Loaded with --import into a child process (MXDOCTOR_TRACE_MODULES=<file>): appends to that
// file the location of every module the process loads, ES modules through a resolve hook and
// CommonJS through Module._load, one per line; and, for the command line's bundle (dist/cli/,
// scripts/bundle-cli.mjs), each bundle file it runs ("bundle <path>") and each module inside
// one that it evaluates on demand ("init <module path>"), through the bundle's trace hook.
// Tests read it to see which packages a command pulls in (test/integration/cli-startup.test.ts).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.MXDOCTOR_TRACE_MODULES;
if (out) {
  const hooks = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(out)}, 'esm ' + result.url + '\\n');
  return result;
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  globalThis[Symbol.for('mxdoctor.trace')] = (kind, what) => appendFileSync(out, `${kind} ${what}\n`);
  const Module = createRequire(import.meta.url)('node:module');
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    let where = request;
    try {
      where = Module._resolveFilename(request, parent, isMain);
    } catch {
      // a built-in, or a failure the real load reports
    }
    appendFileSync(out, `cjs ${where}\n`);
    return load.apply(this, arguments);
  };
}
