// Pages/s of Readability.js (npm @mozilla/readability) on linkedom's DOM, for bench/run: the same pages as
// vnawire_extract_benchmark (BENCH_DIR/html/*.html.gz, decompressed in memory before the clock starts).
//
// Usage: node bench/readability_js.mjs BENCH_DIR [REPEATS=3]
// Needs `npm install --prefix bench` (bench/package.json; bench/node_modules is git-ignored).
// Prints `<pages> <cpu_seconds> <pages/s>`: the best of REPEATS passes on the process's CPU time (user +
// system; Node's garbage collector threads count too, as they would against a core budget).
import { readFileSync, readdirSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { Readability } from "@mozilla/readability";
import { parseHTML } from "linkedom";

const dir = join(process.argv[2] ?? "../shared/peers/article-extraction-benchmark", "html");
const repeats = Number(process.argv[3] ?? 3);
const pages = readdirSync(dir)
  .filter((name) => name.endsWith(".html.gz"))
  .sort()
  .map((name) => gunzipSync(readFileSync(join(dir, name))).toString("utf8"));
if (pages.length === 0) {
  console.error(`no pages in ${dir}`);
  process.exit(2);
}
let best = Infinity;
let extracted = 0;
for (let r = 0; r < repeats; ++r) {
  const start = process.cpuUsage();
  for (const html of pages) {
    const { document } = parseHTML(html);
    const article = new Readability(document).parse();
    if (article && article.textContent) extracted += 1;
  }
  const used = process.cpuUsage(start);
  best = Math.min(best, (used.user + used.system) / 1e6);
}
if (extracted === 0) {
  console.error("Readability.js extracted nothing");
  process.exit(1);
}
console.log(`${pages.length} ${best.toFixed(4)} ${(pages.length / best).toFixed(1)}`);
