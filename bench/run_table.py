#!/usr/bin/python3
"""Runs every benchmark of bench/ and its peers and prints one markdown table (bench/run is the entry point).

Each row is measured in this run: per-stage figures from the Google Benchmark binaries, the peers side by
side with vnawire on the same inputs (ratios are ours / peer, both on one core's CPU time), the end-to-end
pipeline (bench/pipeline_bench.py) and the limit. Progress goes to stderr, the table to stdout.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PEERS = ROOT.parent / "shared" / "peers"
# docs/dedupe.md, measured on this machine (10^7 takes about 25 minutes: --dedupe-large runs them here): the
# N/2 -> N CPU figures of its latest run of all three sizes (sixth session, 2 December 2026).
DEDUPE_QUOTED = {"1000000": 9.6, "10000000": 15.8}


def progress(message):
    print(f"bench/run: {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def load():
    return os.getloadavg()[0]


def run(argv, **kwargs):
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, text=True, **kwargs).stdout


def gbench(binary, pattern, min_time):
    """{name: benchmark entry} of a Google Benchmark binary's JSON output."""
    out = run([binary, f"--benchmark_filter={pattern}", "--benchmark_format=json", f"--benchmark_min_time={min_time}"])
    return {b["name"]: b for b in json.loads(out)["benchmarks"] if "error_message" not in b}


def find(entries, prefix):
    return next((e for name, e in entries.items() if name.startswith(prefix)), None)


class Table:
    def __init__(self):
        self.rows = []

    def add(self, area, figure, ours, peer="", ratio="", target="", met="", at_load=None):
        self.rows.append([area, figure, ours, peer, ratio, target, met, f"{at_load if at_load is not None else load():.1f}"])

    def print(self):
        header = ["area", "figure", "vnawire", "peer", "ours ÷ peer", "target", "met", "load"]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in self.rows:
            print("| " + " | ".join(row) + " |")


def yes_no(ok):
    return "yes" if ok else "**no**"


def machine_rows(table, build):
    """What this host charges for the steps the figures are made of (bench/machine_probe.cc): figures taken
    on two hosts, or on one host hours apart, are compared through these."""
    probe = build / "bench" / "vnawire_machine_probe"
    if not probe.exists():
        return
    progress("the machine: system call, wake-up, page fault, random reads, file growth")
    for line in run([probe, "--write-gb", "1"]).splitlines():
        figure, _, value = line.rpartition("  ")
        value = value.strip()
        if line.startswith("file growth"):  # "file growth, GB  1: per KB  0.610 us (kernel 0.605 us)"
            figure, value = "file growth (appending 77 KB writes), first GB, per KB", line.split("per KB", 1)[1].strip()
        table.add("machine", " ".join(figure.split()), value)


def stage_rows(table, build, quick, dedupe_large):
    min_time = 0.1 if quick else 0.5
    progress("extraction: 60 KB page, text dispatches (vnawire_extract_bench)")
    ex = gbench(build / "bench/vnawire_extract_bench", "BM_ExtractHtmlPage60K|BM_Libxml2ParseOnly60K|BM_ExtractTextDispatch",
                min_time)
    page = find(ex, "BM_ExtractHtmlPage60K")
    table.add("extract", f"HTML page {page['page_bytes'] / 1024:.0f} KB, µs/page (pages/s)",
              f"{page['cpu_time'] / 1e3:.0f} ({1e9 / page['cpu_time']:.0f})")
    parse = find(ex, "BM_Libxml2ParseOnly60K")
    table.add("extract", "libxml2 parse alone, same page, µs", f"{parse['cpu_time'] / 1e3:.0f}")
    for name in ("BM_ExtractTextDispatch/4096", "BM_ExtractTextDispatch/0"):
        entry = find(ex, name)
        table.add("extract", f"text dispatch {entry['dispatch_bytes'] / 1024:.1f} KB, µs/dispatch",
                  f"{entry['cpu_time'] / 1e3:.1f}")

    progress("codec, langid, sinks (vnawire_bench; PostgreSQL on a private cluster when initdb is there)")
    pg_pattern = "BM_SinkPostgres/500" if quick else "BM_SinkPostgres"
    st = gbench(build / "bench/vnawire_bench",
                f"BM_CodecRoundTrip|BM_LangidIdentify$|BM_LangidDetect|BM_Sink/|{pg_pattern}", min_time)
    codec = st["BM_CodecRoundTrip"]
    table.add("runtime", "codec encode+decode, µs/message (examples/samples, 2-8 KB)",
              f"{1e6 / codec['items_per_second']:.1f}")
    for name, label in (("BM_LangidIdentify", "identify (whole decision)"), ("BM_LangidDetect", "CLD2 call")):
        table.add("langid", f"{label} on the sample pages, MB/s", f"{st[name]['bytes_per_second'] / 1e6:.1f}")
    for prefix, label in (("BM_Sink/0", "SQLite"), ("BM_Sink/1", "JSON Lines")):
        entry = find(st, prefix)
        table.add("sink", f"{label}, batched (default), docs/s (CPU)", f"{entry['items_per_second']:.0f}")
    pg = [(name, e) for name, e in st.items() if name.startswith("BM_SinkPostgres")]
    for name, entry in pg:
        batch = name.split("/")[1]
        table.add("sink", f"PostgreSQL, batch_size {batch}, fsync on, docs/s (wall)", f"{entry['items_per_second']:.0f}")
    if not pg:
        table.add("sink", "PostgreSQL", "not measured: no cluster could be started (initdb of postgresql-15?)")

    sizes = ["100000"] + (["1000000", "10000000"] if dedupe_large else [])
    progress(f"dedupe at {', '.join(sizes)} stored (vnawire_dedupe_bench)")
    dd = gbench(build / "bench/vnawire_dedupe_bench",
                "BM_DedupePrepare|" + "|".join(f"BM_DedupeLookupInsert/{n}/0/" for n in sizes), min_time)
    prepare = dd["BM_DedupePrepare"]["cpu_time"]
    for n in ["100000", "1000000", "10000000"]:
        entry = find(dd, f"BM_DedupeLookupInsert/{n}/0/")
        if entry is not None:
            decide = f"{entry['half_to_n_cpu_us_per_doc']:.1f}"
            where = "measured"
        else:
            decide, where = f"{DEDUPE_QUOTED[n]}", "quoted from docs/dedupe.md"
        table.add("dedupe", f"decide + record at 10^{len(n) - 1} stored, µs/doc ({where}; preparing the text "
                  f"adds {prepare:.0f} µs)", decide)


def extraction_peers(table, build, quick):
    bench_dir = PEERS / "article-extraction-benchmark"
    repeats = "1" if quick else "3"
    progress("extraction peers on the 181 pages: vnawire, readability-lxml, Readability.js")
    ours = []

    def vnawire_rate():
        out = run([build / "bench/vnawire_extract_benchmark", bench_dir, "/dev/null", repeats])
        return float(next(l for l in out.splitlines() if l.startswith("CPU time")).split(",")[1].split()[0])

    ours.append(vnawire_rate())
    peers = {}
    try:
        at = load()
        peers["readability-lxml (python3-readability)"] = (float(run(["/usr/bin/python3", ROOT / "bench/peers.py",
                                                                      "readability", bench_dir, repeats]).split()[2]), at)
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        peers["readability-lxml (python3-readability)"] = (None, f"not run: {e} (apt-get install -y python3-readability python3-lxml)")
    ours.append(vnawire_rate())
    if (ROOT / "bench/node_modules/@mozilla/readability").is_dir():
        at = load()
        out = run(["node", ROOT / "bench/readability_js.mjs", bench_dir, repeats], cwd=ROOT / "bench")
        peers["Readability.js 0.5 + linkedom (npm)"] = (float(out.split()[2]), at)
    else:
        peers["Readability.js 0.5 + linkedom (npm)"] = (None, "not run: npm install --prefix bench")
    ours.append(vnawire_rate())
    best = max(ours)
    for name, (rate, note) in peers.items():
        if rate is None:
            table.add("extract", f"peer: {name}", "", note)
            continue
        ratio = best / rate
        table.add("extract", "the 181 pages of article-extraction-benchmark, pages/s (CPU, 1 core)", f"{best:.0f}",
                  f"{name}: {rate:.1f}",
                  f"{ratio:.1f}×", "≥ 10×", yes_no(ratio >= 10), note)


def langid_peers(table, build, quick):
    per_file = "50" if quick else "200"
    files = sorted((PEERS / "langid-testdata/sentences").glob("*.txt"))
    progress(f"langid peers on {per_file} sentences per language: CLD2 alone, vnawire, langdetect")
    at = load()
    ours = {}
    for line in run([build / "bench/vnawire_langid_peers", *files, "--per-file", per_file]).splitlines():
        method, texts, size, _, rate = line.split()
        ours[method] = float(rate)
    label = f"{texts} sentences of 13 languages ({int(size) / 1e3:.0f} KB), MB/s (CPU, 1 core)"
    table.add("langid", f"identify, {label}", f"{ours['identify']:.1f}", f"CLD2 DetectLanguage alone: {ours['cld2']:.1f}",
              f"{ours['identify'] / ours['cld2']:.2f}×", at_load=at)
    try:
        at = load()
        out = run(["/usr/bin/python3", ROOT / "bench/peers.py", "langdetect", per_file, *files, "1"])
        rate = float(out.split()[3])
        table.add("langid", f"identify, same sentences", f"{ours['identify']:.1f}", f"langdetect (python3-langdetect): {rate:.3f}",
                  f"{ours['identify'] / rate:.0f}×", at_load=at)
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        table.add("langid", "peer: langdetect", "", f"not run: {e} (apt-get install -y python3-langdetect)")


def pipeline(build, extra):
    out = run(["/usr/bin/python3", ROOT / "bench/pipeline_bench.py", "--binary", build / "vnawire", "--json", *extra])
    return json.loads(out)


def pipeline_rows(table, build, quick):
    n_text, n_html, n_paced = (1000, 200, 300) if quick else (4000, 800, 1000)
    # The same run's figures swing by a sixth between minutes on a shared machine (docs/performance.md): each
    # throughput and the overhead are taken in three rounds, one configuration after the other within a round,
    # and the round with the median figure counts; the others are shown beside it.
    rounds = 1 if quick else 3
    runs = {}
    for round_ in range(rounds):
        for kind, n in (("text", n_text), ("html", n_html)):
            for replicas in (1, 2):
                progress(f"end to end: {n} {kind} documents, extract x{replicas}, into SQLite (round {round_ + 1})")
                runs.setdefault((kind, replicas), []).append(
                    pipeline(build, ["--kind", kind, "--docs", str(n), "--replicas", str(replicas)]))
    for (kind, replicas), each in runs.items():
        ordered = sorted(each, key=lambda r: r["docs_per_s"])
        r = ordered[len(ordered) // 2]
        cpu = r["cpu_ms_per_doc"]
        target = {("text", 2): 2000, ("html", 2): 400}.get((kind, replicas))
        spread = f"; median of {len(each)} rounds: " + ", ".join(f"{x['docs_per_s']:.0f}" for x in each) if len(each) > 1 else ""
        table.add("end to end", f"{r['docs']} {kind} documents, extract x{replicas}, docs/s (CPU per doc, ms{spread})",
                  f"{r['docs_per_s']:.0f} ({cpu:.2f})", "", "", f"≥ {target}" if target else "",
                  yes_no(r["docs_per_s"] >= target) if target else "", r["load"])
    # Latency's tail swings with the neighbours' load on a shared machine: the run with the median p99 counts,
    # and the others' p99 are shown beside it.
    paced_runs = []
    for attempt in range(rounds):
        progress(f"end to end: {n_paced} text documents offered at 100/s, extract x2 (run {attempt + 1})")
        paced_runs.append(pipeline(build, ["--kind", "text", "--docs", str(n_paced), "--replicas", "2", "--rate", "100"]))
    paced_runs.sort(key=lambda r: r["latency_ms"]["p99"])
    paced = paced_runs[len(paced_runs) // 2]
    lat = paced["latency_ms"]
    spread = ", ".join(f"{r['latency_ms']['p99']:.0f}" for r in paced_runs)
    table.add("end to end", f"latency, file dropped → row in SQLite at 100 docs/s, p50 / p99 / max ms (median of "
              f"{len(paced_runs)} runs by p99; p99 of each: {spread}; CPU {paced['cpu_ms_per_doc']:.1f} ms/doc)",
              f"{lat['p50']:.1f} / {lat['p99']:.1f} / {lat['max']:.1f}", "", "", "p99 < 50", yes_no(lat["p99"] < 50),
              paced["load"])
    rss = {}
    for r in [x for each in runs.values() for x in each] + paced_runs:
        for stage, e in r["stages"].items():
            rss[stage] = max(rss.get(stage, 0.0), e["peak_rss_mb"])
    table.add("end to end", "peak RSS per stage process, MB (" + ", ".join(f"{s} {v:.0f}" for s, v in rss.items()) + ")",
              f"{max(rss.values()):.0f}", "", "", "< 64", yes_no(max(rss.values()) < 64))

    # The overhead compares the pipeline's CPU with the filters': each round runs the pipeline (text, extract
    # x2) just before and just after the filters, and takes the mean of the two, so that both sides meet the
    # same minutes of the machine.
    stages = ("dedupe", "langid", "extract")
    shares = []
    for round_ in range(rounds):
        around = []
        for when in ("before", "after"):
            if when == "after":
                progress(f"the limit and the stages as in-process filters: {n_text} text records (round {round_ + 1})")
                filters = pipeline(build, ["--filters", "--kind", "text", "--docs", str(n_text)])
            progress(f"end to end: {n_text} text documents, extract x2, {when} the filters (round {round_ + 1})")
            around.append(pipeline(build, ["--kind", "text", "--docs", str(n_text), "--replicas", "2"]))
        text2 = around[0]
        in_pipeline = sum(sum(r["stages"][s]["cpu_s"] for s in stages) * 1000 / r["docs"] for r in around) / 2
        alone = sum(filters["stages"][s]["cpu_ms_per_doc"] for s in stages)
        # The filters parse and dump each record too: what each stage's JSON costs, on its own records (its
        # input parsed, its output dumped), is taken out of their CPU. Without that figure (an older tool): a
        # round trip of the final, largest record per stage, which overstates it.
        if all("codec_us" in filters["stages"][s] for s in stages):
            codec = sum(filters["stages"][s]["codec_us"] for s in stages) / 1000
        else:
            codec = len(stages) * filters["limit"]["round_trip_us"] / 1000
        # The filters one after the other each have a core and its caches to themselves; in the pipeline seven
        # processes share two. Run at once as a shell pipeline (dedupe | langid | extract), they share them
        # too, with a pipe for transport: what the pipeline costs beyond that is its transport, codec and acks.
        at_once = sum(filters["stages"][s].get("concurrent_cpu_ms_per_doc", float("nan")) for s in stages)
        shares.append({"filters": filters, "text2": text2, "in_pipeline": in_pipeline, "alone": alone, "codec": codec,
                       "at_once": at_once, "at_once_share": (in_pipeline - at_once + codec) / in_pipeline,
                       "share": (in_pipeline - alone + codec) / in_pipeline})
    ordered = sorted(shares, key=lambda x: x["at_once_share"] if x["at_once"] == x["at_once"] else x["share"])
    m = ordered[len(ordered) // 2]
    filters, limit = m["filters"], m["filters"]["limit"]
    table.add("limit", f"records only read and parsed as JSON ({limit['record_bytes'] / 1024:.1f} KB each), docs/s, 1 core",
              f"{limit['docs_per_s']:.0f}", "", "", "", "", filters["load"])
    table.add("limit", "dedupe + langid + extract, CPU ms/doc: in the pipeline (filters alone: "
              f"{m['alone']:.2f}, of which JSON {m['codec']:.2f})", f"{m['in_pipeline']:.2f}", "", "",
              "", "", m["text2"]["load"])
    each = f" (median of {len(shares)} rounds: " + ", ".join(f"{100 * x['at_once_share']:.1f}%" for x in shares) + ")" \
        if len(shares) > 1 else ""
    if m["at_once"] == m["at_once"]:
        table.add("limit", "the same three filters at once (a shell pipeline: dedupe, then langid, then extract) on the same "
                  f"{os.cpu_count()} cores, CPU ms/doc",
                  f"{m['at_once']:.2f}", "", "", "", "", filters["load"])
        table.add("limit", "pipeline overhead (transport, codec, acks) share of those stages' CPU, text dispatches, "
                  f"against the filters at once{each}", f"{100 * m['at_once_share']:.1f}%", "", "", "< 15%",
                  yes_no(m["at_once_share"] < 0.15), m["text2"]["load"])
        table.add("limit", "the same against the filters one after the other (adds the cores' sharing by seven "
                  "processes)", f"{100 * m['share']:.1f}%", "", "", "", "", m["text2"]["load"])
    else:  # an older pipeline_bench.py: the filters one after the other only
        table.add("limit", "pipeline overhead (transport, codec, acks) share of those stages' CPU, text dispatches",
                  f"{100 * m['share']:.1f}%", "", "", "< 15%", yes_no(m["share"] < 0.15), m["text2"]["load"])

def main():
    parser = argparse.ArgumentParser(description="bench/run: every benchmark and its peers, one markdown table")
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--quick", action="store_true", help="fewer documents, shorter runs (about 2 minutes)")
    parser.add_argument("--dedupe-large", action="store_true", help="also dedupe at 10^6 and 10^7 (about 30 minutes)")
    parser.add_argument("--skip", action="append", default=[], choices=["stages", "peers", "pipeline"])
    args = parser.parse_args()
    build = pathlib.Path(args.build)
    table = Table()
    started, start_load = time.strftime("%Y-%m-%d %H:%M %Z"), load()
    machine_rows(table, build)
    if "stages" not in args.skip:
        stage_rows(table, build, args.quick, args.dedupe_large)
    if "peers" not in args.skip:
        extraction_peers(table, build, args.quick)
        langid_peers(table, build, args.quick)
    if "pipeline" not in args.skip:
        pipeline_rows(table, build, args.quick)
    print(f"vnawire bench/run{' --quick' if args.quick else ''}, {started}, {os.cpu_count()} cores, "
          f"{os.uname().machine}, load average at start {start_load:.2f}, at end {load():.2f}\n")
    table.print()


if __name__ == "__main__":
    main()
