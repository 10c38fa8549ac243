#!/usr/bin/python3
"""Pages/s of readability-lxml and of vnawire's generic extractor on the same pages, in one run.

Usage: bench/readability_compare.py [BENCH_DIR] [REPEATS]
  BENCH_DIR defaults to ../shared/peers/article-extraction-benchmark (its html/*.html.gz);
  REPEATS (default 3) is the number of timed passes of each system, the best one counts.

Needs Debian's python3-readability and python3-lxml (`apt-get install -y python3-readability
python3-lxml`), hence /usr/bin/python3 rather than whatever python3 is first on PATH, and a built
build/bench/vnawire_extract_benchmark. Both sides time extraction alone, on one thread, with the
pages already decompressed in memory; the ratio is taken on CPU time. The passes alternate (one of
readability-lxml, one of vnawire, and again), so that a neighbour's load on a shared machine falls
on both alike. Not run by CI: benchmarks are run by hand (docs/extract.md).
"""
import gzip
import pathlib
import re
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> int:
    bench_dir = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/peers/article-extraction-benchmark")
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    try:
        import readability  # noqa: PLC0415 (optional dependency, checked here with a helpful message)
    except ImportError:
        print("readability-lxml is missing: apt-get install -y python3-readability python3-lxml", file=sys.stderr)
        return 2
    binary = ROOT / "build/bench/vnawire_extract_benchmark"
    if not binary.exists():
        print(f"{binary} is missing: cmake --build build --target vnawire_extract_benchmark", file=sys.stderr)
        return 2

    pages = [gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in sorted((bench_dir / "html").glob("*.html.gz"))]
    if not pages:
        print(f"no pages in {bench_dir}/html", file=sys.stderr)
        return 2
    # CPU time of the process, like vnawire's "CPU time" line: on a shared machine wall time swings
    # with the neighbours' load, CPU time much less.
    best = best_cpu = float("inf")
    vnawire_rate = parse_rate = 0.0
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            for html in pages:
                readability.Document(html).summary()
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
            run = subprocess.run([str(binary), str(bench_dir), out.name, "1"], check=True, capture_output=True, text=True)
            match = re.search(r"^CPU time: [0-9.]+ s, ([0-9.]+) pages/s", run.stdout, re.M)
            parse = re.search(r"^libxml2 parse alone, CPU time: [0-9.]+ s, ([0-9.]+) pages/s", run.stdout, re.M)
            if match is None or parse is None:
                print("cannot read vnawire's pages/s", file=sys.stderr)
                return 1
            vnawire_rate = max(vnawire_rate, float(match.group(1)))
            parse_rate = max(parse_rate, float(parse.group(1)))
    readability_rate = len(pages) / best_cpu
    print(f"readability-lxml: {len(pages)} pages, best of {repeats}: {best:.3f} s, {len(pages) / best:.1f} pages/s")
    print(f"readability-lxml: CPU time: {best_cpu:.3f} s, {readability_rate:.1f} pages/s")
    print(f"vnawire: CPU time, best of {repeats}: {len(pages) / vnawire_rate:.3f} s, {vnawire_rate:.1f} pages/s")
    print(f"vnawire: libxml2 parse alone, CPU time, best of {repeats}: {parse_rate:.1f} pages/s")
    print(f"ratio (CPU time): vnawire is {vnawire_rate / readability_rate:.1f}x readability-lxml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
