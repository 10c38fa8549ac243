#!/usr/bin/python3
"""The Python peers of bench/run, timed in this process on its CPU time (best of REPEATS passes).

Usage:
  bench/peers.py readability BENCH_DIR [REPEATS=3]      -> "<pages> <cpu_seconds> <pages/s>"
  bench/peers.py langdetect PER_FILE FILE... [REPEATS]  -> "<texts> <bytes> <cpu_seconds> <MB/s>"

readability: Debian's python3-readability (readability-lxml) on BENCH_DIR/html/*.html.gz, decompressed
before the clock. langdetect: Debian's python3-langdetect on the first PER_FILE lines of each FILE, with
the profiles loaded before the clock. Run with /usr/bin/python3, which sees Debian's modules:
apt-get install -y python3-readability python3-lxml python3-langdetect
"""
import gzip
import pathlib
import sys
import time


def best_cpu(repeats, run):
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def readability_lxml(bench_dir, repeats):
    import readability  # noqa: PLC0415 (optional, checked by bench/run)

    pages = [gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
             for p in sorted((pathlib.Path(bench_dir) / "html").glob("*.html.gz"))]
    if not pages:
        sys.exit(f"no pages in {bench_dir}/html")
    seconds = best_cpu(repeats, lambda: [readability.Document(html).summary() for html in pages])
    print(f"{len(pages)} {seconds:.4f} {len(pages) / seconds:.1f}")


def langdetect(per_file, files, repeats):
    from langdetect import DetectorFactory, detect  # noqa: PLC0415
    from langdetect.lang_detect_exception import LangDetectException  # noqa: PLC0415

    DetectorFactory.seed = 0
    texts = []
    for name in files:
        lines = [line for line in pathlib.Path(name).read_text(encoding="utf-8").splitlines() if line]
        texts += lines[:per_file]
    size = sum(len(t.encode("utf-8")) for t in texts)
    detect("warm up: the profiles load on the first call")

    def run():
        for text in texts:
            try:
                detect(text)
            except LangDetectException:
                pass

    seconds = best_cpu(repeats, run)
    print(f"{len(texts)} {size} {seconds:.4f} {size / 1e6 / seconds:.3f}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "readability":
        readability_lxml(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    elif len(sys.argv) >= 4 and sys.argv[1] == "langdetect":
        args = sys.argv[3:]
        repeats = int(args.pop()) if args[-1].isdigit() else 1
        langdetect(int(sys.argv[2]), args, repeats)
    else:
        sys.exit(__doc__)
