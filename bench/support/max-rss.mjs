// Preloaded into a benchmarked `mxdoctor` process: prints its peak resident set size on
// standard error when it exits, as "max-rss-kib <n>", for bench/bulk.bench.ts.
process.on('exit', () => {
  process.stderr.write(`\nmax-rss-kib ${process.resourceUsage().maxRSS}\n`);
});
