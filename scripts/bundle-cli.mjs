#!/usr/bin/env node
// Bundles the command line with esbuild into dist/cli/: main.cjs (src/cli/main.ts: the
// argument parser and the table of commands) and one file per one-shot command (check.cjs,
// bounce.cjs, …: src/cli/<command>.ts and everything it may load). Run by `npm run build`
// (and so by `npm ci` through `prepare`) after tsc; bin/mxdoctor.js runs them through
// src/cli/bundle-loader.ts, with V8's code cache.
//
// Why: a one-shot command's start-up is much of its run. Loaded as ES modules, `mxdoctor
// check` spent a third of its CPU in Node's module loader and in compiling: some 70 chunk
// files resolved, read, compiled, linked and evaluated one by one (esbuild splits only ES
// modules), every function compiled again at every run. One CommonJS file per command is
// read in one go, and a script (unlike an ES module on Node 20) can be compiled from a code
// cache: the bytecode of the functions an earlier run compiled. Code that a command loads
// on demand (each check, the report's formatting, the bounce parser's follow-ups) stays
// inside its file in esbuild's lazy wrappers, evaluated only when imported, as before.
// `npm run bench cli-startup` and `npm run bench latency` measure it.
//
// - Project code and the pure-JS packages on the start-up path of check and bounce (INLINE)
//   are bundled, and the package files that two modules load by a computed path (IN_BUNDLE);
//   every other package stays external and loads from node_modules as installed (some read
//   files beside their code, e.g. disposable-email-domains-js its JSON list).
// - The service (serve, web, worker) is not bundled: bin/mxdoctor.js runs it from dist/src/,
//   where its start-up does not matter and its layout is the one its tests know. main.cjs
//   reaches it there, for `mxdoctor --help`.
// - main.cjs holds no command: each command module is replaced there by a stub that loads
//   its own file (through the loader when there is one, else with require), so that
//   `mxdoctor --version` reads 130 kB, not the 1–2 MB of a command.
// - zod's translations of its error messages into 40-odd languages are left out (only
//   English, zod's default, is used; `z.config(z.locales…)` appears nowhere): they were half
//   of zod's code to compile at every start.
// - dist/cli/bundle.json lists the files: each one's SHA-256 (the code cache's key), the
//   modules it evaluates as it loads (eager) and those it evaluates on demand (lazy). A
//   module tracer (test/support/module-trace.mjs) sees the lazy ones run through a hook in
//   esbuild's wrappers; the start-up test (test/integration/cli-startup.test.ts) reads both.
//
//   node scripts/bundle-cli.mjs [outdir]     (default dist/cli)
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, process.argv[2] ?? join('dist', 'cli'));

/** Packages compiled into the bundle; every other import of a package stays external. */
const INLINE = new Set(['commander', 'zod', 'tldts']);

/** The one-shot commands, each a file of its own (src/cli/<name>.ts → <name>.cjs). */
const COMMANDS = ['check', 'bounce', 'spf', 'verify', 'auth', 'inbound'];

/** The package an import names: "zod" of "zod/mini", "@scope/pkg" of "@scope/pkg/sub". */
const packageName = (path) =>
  path
    .split('/')
    .slice(0, path.startsWith('@') ? 2 : 1)
    .join('/');

/** Keeps packages outside INLINE external (resolved from node_modules at run time). */
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      return INLINE.has(packageName(args.path)) ? undefined : { path: args.path, external: true };
    });
  },
};

/**
 * A package the code imports with import() becomes a lazily required stub: the loader runs
 * each file as a script compiled from V8's code cache, in which import() fails on Node 20.
 * The build stops if such a package is an ES module (require cannot load it on Node 20).
 */
const dynamicImportsRequired = {
  name: 'dynamic-imports-required',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind !== 'dynamic-import' || args.path.startsWith('node:')) return undefined;
      const name = packageName(args.path);
      if (INLINE.has(name)) return undefined;
      const pkg = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'));
      if (pkg.type === 'module')
        throw new Error(`bundle-cli: ${name} is an ES module; import() of it cannot be bundled`);
      return { path: args.path, namespace: 'require-stub' };
    });
    b.onLoad({ filter: /.*/, namespace: 'require-stub' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});\n`,
      loader: 'js',
    }));
  },
};

/** A line of generated CommonJS that requires a package file by its absolute path. */
const requireFile = (...path) => `require(${JSON.stringify(join(root, 'node_modules', ...path))});\n`;

/**
 * Modules that load a package's files by a path computed at run time (esbuild cannot follow
 * it), replaced in the bundle by those files themselves, compiled from the code cache with
 * the rest instead of read and compiled from node_modules at every run: dns2's packet codec
 * (before the first DNS query of `mxdoctor check`; ~7 ms and the first decodes' compiling) and
 * node-forge's ASN.1 reader (before the first certificate is read; ~4 ms).
 */
const IN_BUNDLE = {
  'src/dns/dns2-packet.ts': `module.exports = ${requireFile('dns2', 'packet.js')}`,
  'src/tls/forge-asn1.ts':
    requireFile('node-forge', 'lib', 'asn1.js') +
    requireFile('node-forge', 'lib', 'oids.js') +
    `module.exports = ${requireFile('node-forge', 'lib', 'forge.js')}`,
};

const inBundle = {
  name: 'in-bundle',
  setup(b) {
    const replaced = new Set();
    b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const source = relative(root, join(args.resolveDir, args.path.replace(/\.js$/, '.ts')));
      const key = source.split('\\').join('/');
      if (!(key in IN_BUNDLE)) return undefined;
      replaced.add(key);
      return { path: key, namespace: 'in-bundle' };
    });
    // Its own namespace: the project's "type": "module" would make esbuild read it as an ES module.
    b.onLoad({ filter: /.*/, namespace: 'in-bundle' }, (args) => ({
      contents: IN_BUNDLE[args.path],
      loader: 'js',
      resolveDir: root,
    }));
    b.onEnd((result) => {
      // A module moved or renamed: the bundle still works, loading the files from node_modules.
      const inputs = Object.keys(result.metafile?.inputs ?? {});
      for (const key of Object.keys(IN_BUNDLE)) {
        if (!replaced.has(key) && inputs.includes(key))
          console.warn(`bundle-cli: ${key} was bundled as written, not replaced by its package files`);
      }
    });
  },
};

/** The service's command module stays in dist/src/ (see above). */
const serviceOutside = {
  name: 'service-outside',
  setup(b) {
    b.onResolve({ filter: /^\.\/serve\.js$/ }, (args) =>
      args.importer.endsWith(join('src', 'cli', 'main.ts'))
        ? { path: '../src/cli/serve.js', external: true }
        : undefined,
    );
  },
};

// The hooks on globalThis that the generated code below calls (Symbol.for names): their one
// description is src/cli/bundle-hooks.ts.

/** In main.cjs, each command module is a stub that loads the command's own file. */
const commandsApart = {
  name: 'commands-apart',
  setup(b) {
    const names = new RegExp(`^\\./(${COMMANDS.join('|')})\\.js$`);
    b.onResolve({ filter: names }, (args) =>
      args.importer.endsWith(join('src', 'cli', 'main.ts'))
        ? { path: names.exec(args.path)[1], namespace: 'command-file' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'command-file' }, (args) => ({
      contents:
        `const load = globalThis[Symbol.for('mxdoctor.loadBundle')] ?? require;\n` +
        `module.exports = load(require('node:path').join(__dirname, ${JSON.stringify(`${args.path}.cjs`)}));\n`,
      loader: 'js',
    }));
  },
};

/** zod's locales module, with English alone. */
function zodEnglishOnly() {
  let replaced = 0;
  return {
    name: 'zod-english-only',
    setup(b) {
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
        if (!/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)) return undefined;
        replaced++;
        return { path: join(args.resolveDir, '..', 'locales', 'index.js'), namespace: 'zod-locales' };
      });
      b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
        contents: `export { default as en } from './en.js';\n`,
        resolveDir: dirname(args.path),
        loader: 'js',
      }));
      b.onEnd((result) => {
        // zod moved its locales: the bundle is right, only larger. Say so rather than fail.
        const zod = Object.keys(result.metafile?.inputs ?? {}).some((i) => i.includes('node_modules/zod/'));
        if (zod && replaced === 0)
          console.warn('bundle-cli: zod’s locales were not found; all of them are bundled');
      });
    },
  };
}

// esbuild's wrappers of the modules a file evaluates on demand (__esm for ES modules,
// __commonJS for CommonJS packages): each calls the tracer's hook (defined only under
// test/support/module-trace.mjs) with the module's path as it runs.
const TRACE = (fn) => `globalThis[Symbol.for('mxdoctor.trace')]?.('init', __getOwnPropNames(${fn})[0]), `;
const WRAPPERS = [
  { helper: 'var __esm = ', call: /(\n\s*return fn && \()/, fn: 'fn' },
  { helper: 'var __commonJS = ', call: /(\n\s*return mod \|\| \()/, fn: 'cb' },
];

/**
 * The code with every character beyond ASCII written as a \u escape. esbuild escapes those of
 * strings and names (its default charset), not those of comments and regular expression
 * literals, and one such character is enough for Node to decode the whole file as UTF-8 the
 * slow way and hold it as two-byte text: bounce.cjs had 26 of them (a "§" in a comment,
 * "réponse" and "配信" in the bounce parser's expressions), and decoding it cost every bounce
 * run some 33M instructions (callgrind, node --predictable: one message 358M → 326M; the
 * corpus ×10 4,755M → 4,720M). An escape means the same character in a regular expression
 * (with or without the u flag: there a surrogate pair of escapes is one astral character) and
 * in a string; a backslash before the character (an identity escape) is dropped, the escape
 * standing for it. Columns after such a character shift on its line, in the source map too:
 * only on these lines, mostly comments.
 */
function asciiOnly(code) {
  const hex = (unit) => `\\u${unit.toString(16).padStart(4, '0')}`;
  return code.replace(/(\\*)([^\0-\x7f])/gu, (_, backslashes, char) => {
    const point = char.codePointAt(0);
    const escaped =
      point > 0xffff
        ? hex(0xd800 + ((point - 0x10000) >> 10)) + hex(0xdc00 + ((point - 0x10000) & 0x3ff))
        : hex(point);
    return backslashes.slice(0, backslashes.length - (backslashes.length % 2)) + escaped;
  });
}

/** Hooks the tracer into a file's wrappers; fails the build when esbuild's helpers change shape. */
function traced(code) {
  for (const { helper, call, fn } of WRAPPERS) {
    const at = code.indexOf(helper);
    if (at < 0) continue; // this file has no module of that kind to evaluate on demand
    const head = code.slice(at, at + 300);
    const m = call.exec(head);
    if (!m) throw new Error(`bundle-cli: esbuild's ${helper.trim()} helper changed shape`);
    const cut = at + m.index + m[1].length;
    code = code.slice(0, cut) + TRACE(fn) + code.slice(cut);
  }
  return code;
}

/** Bundles one entry into `<name>.cjs`; returns what bundle.json says of it. */
async function bundle(name, entry, plugins) {
  const outfile = join(outdir, `${name}.cjs`);
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    tsconfig: join(root, 'tsconfig.build.json'),
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    // ES module semantics the sources rely on: strict mode, and import.meta.url (the
    // file's own URL: modules find package.json and their packages from it).
    banner: {
      js: `'use strict';\nconst __mxdoctorUrl = require('node:url').pathToFileURL(__filename).href;`,
    },
    define: { 'import.meta.url': '__mxdoctorUrl' },
    plugins: [
      dynamicImportsRequired,
      externalPackages,
      inBundle,
      serviceOutside,
      zodEnglishOnly(),
      ...plugins,
    ],
  });
  // An import() left in the file would fail when it runs (see dynamicImportsRequired); the
  // service's module, which main.cjs names, is imported by the loader (src/cli/main.ts).
  for (const output of Object.values(result.metafile.outputs)) {
    for (const i of output.imports ?? []) {
      if (i.kind === 'dynamic-import' && i.path !== '../src/cli/serve.js')
        throw new Error(`bundle-cli: ${name}.cjs would import() ${i.path} at run time`);
    }
  }
  const code = asciiOnly(traced(readFileSync(outfile, 'utf8')));
  // The loader reads each file as Latin-1 (src/cli/bundle-loader.ts): a byte beyond ASCII
  // would be read as another character there.
  if (/[^\0-\x7f]/.test(code)) throw new Error(`bundle-cli: ${name}.cjs is not all ASCII`);
  writeFileSync(outfile, code);
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  const modules = Object.keys(output.inputs)
    .filter((i) => !i.includes(':'))
    .map((i) => i.replace(/^.*node_modules\//, 'node_modules/'));
  const lazy = [...code.matchAll(/= __(?:esm|commonJS)\(\{\n {2}"([^"]+)"\(/g)].map((m) =>
    m[1].replace(/^.*node_modules\//, 'node_modules/'),
  );
  const lazySet = new Set(lazy);
  return {
    sha256: createHash('sha256').update(code).digest('hex'),
    bytes: Buffer.byteLength(code),
    eager: modules.filter((m) => !lazySet.has(m)),
    lazy,
  };
}

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const files = {};
files['main.cjs'] = await bundle('main', join(root, 'src', 'cli', 'main.ts'), [commandsApart]);
for (const name of COMMANDS)
  files[`${name}.cjs`] = await bundle(name, join(root, 'src', 'cli', `${name}.ts`), []);
writeFileSync(join(outdir, 'bundle.json'), JSON.stringify({ files }, null, 1) + '\n');
console.log(
  `bundle-cli: ${Object.entries(files)
    .map(([f, o]) => `${f} ${Math.round(o.bytes / 1024)} kB`)
    .join(', ')} → ${relative(root, outdir)}/`,
);
