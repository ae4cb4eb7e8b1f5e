#!/usr/bin/env node
// Bundles the command line (src/cli/main.ts) with esbuild into dist/cli/: main.js and the
// chunks its commands load on demand. Run by `npm run build` (and so by `npm ci` through
// `prepare`) after tsc; bin/mxdoctor.js prefers it to dist/src/ for the one-shot commands.
//
// Why: `mxdoctor check` spent most of its start-up in Node's ES module loader, resolving,
// reading and compiling some 250 small files one by one (about 100 of them zod's), much of it
// before its first DNS query could go out. About 40 chunks load in a fraction of that time
// (`npm run bench cli-startup`, `npm run bench latency`).
//
// - Project code and the pure-JS packages on the start-up path of check and bounce (INLINE)
//   are bundled; every other package stays external and loads from node_modules as installed
//   (some read files beside their code, e.g. disposable-email-domains-js its JSON list).
// - The service (serve, web, worker) is not bundled: bin/mxdoctor.js runs it from dist/src/,
//   where its start-up does not matter and its layout is the one its tests know. The
//   bundle's main.js reaches it there, for `mxdoctor --help`.
// - zod's translations of its error messages into 40-odd languages are left out (only
//   English, zod's default, is used; `z.config(z.locales…)` appears nowhere): they were half
//   of zod's code to compile at every start.
// - dist/cli/inputs.json lists the modules each output file holds, for the start-up test
//   (test/integration/cli-startup.test.ts), which reads the bundle's loaded chunks through it.
//
//   node scripts/bundle-cli.mjs [outdir]     (default dist/cli)
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, process.argv[2] ?? join('dist', 'cli'));

/** Packages compiled into the bundle; every other import of a package stays external. */
const INLINE = new Set(['commander', 'zod', 'tldts']);

/** Keeps packages outside INLINE external (resolved from node_modules at run time). */
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      const name = args.path.startsWith('@')
        ? args.path.split('/').slice(0, 2).join('/')
        : args.path.split('/')[0];
      return INLINE.has(name) ? undefined : { path: args.path, external: true };
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

/** zod's locales module, with English alone. */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    let replaced = 0;
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
    b.onEnd(() => {
      // zod moved its locales: the bundle is right, only larger. Say so rather than fail.
      if (replaced === 0) console.warn('bundle-cli: zod’s locales were not found; all of them are bundled');
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  tsconfig: join(root, 'tsconfig.build.json'),
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  // commander and tldts are CommonJS: their require() calls need a require in an ES module.
  banner: {
    js: "import { createRequire as __mxdoctorCreateRequire } from 'node:module'; const require = __mxdoctorCreateRequire(import.meta.url);",
  },
  plugins: [externalPackages, serviceOutside, zodEnglishOnly],
});

const inputs = {};
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith('.map')) continue;
  inputs[relative(outdir, resolve(root, file))] = Object.keys(output.inputs).map((i) =>
    i.replace(/^.*node_modules\//, 'node_modules/'),
  );
}
writeFileSync(join(outdir, 'inputs.json'), JSON.stringify(inputs, null, 1) + '\n');
