#!/usr/bin/python3
"""End-to-end figures of the real multi-process pipeline (fetch, dedupe, langid, extract xR, sink_sqlite).

Usage: bench/pipeline_bench.py [--binary build/vnawire] [--kind text|html] [--docs N] [--replicas R]
                               [--rate DOCS_PER_S] [--json]

Generated documents (each unique: no dedupe drops) are moved into the fetch stage's folder (scanned with
`recursive: true`), all at once as one subfolder (throughput: the folder is scanned every second, so that
its scans of thousands of files stay out of the figures) or one by one at --rate documents/s (latency: the
folder is scanned every 10 ms, the least fetch allows, and each file is deleted once stored, as a drop
folder's reader would, so that the scans stay small). The script waits until the SQLite sink has committed
every one. It reports:
- documents/s: from the first row committed to the last (throughput mode);
- latency p50/p99/max: from a file's drop into the folder to its row being visible in SQLite, read by a
  poller every 2 ms (paced mode). This includes the wait for the next scan of the folder (0 to 10 ms):
  an upper bound of fetch -> sink;
- peak RSS (VmHWM) and CPU (utime + stime, from the drop of the files to the last commit) of every
  stage process, read from /proc; CPU per document is their sum over the documents (the daemon's own CPU,
  supervision and metrics, is left out);
- per stage, the sleeps (voluntary context switches, all threads) and preemptions per document over the
  same span: each sleep ends in a wake-up, by another thread or a timer (vnawire_machine_probe measures one).
With --filters, the same documents go instead through `vnawire dedupe`, `vnawire langid` and `vnawire extract`
as JSON Lines filters, one after the other in single processes: each stage's own work plus one JSON parse and
dump per record, with no transport, acknowledgements or supervision (CPU per document, the start-up cost of
each filter taken off); then `vnawire_json_limit` reads and parses the final records only (the limit).
Progress goes to stderr; --json prints one JSON object on stdout instead of text. Not run by CI.
"""
import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

WORDS = ("coopération commerce délégation ministre province investissement accord énergie port riz formation "
         "tourisme culture agriculture exportation développement partenariat gouvernement programme période "
         "transport entreprise réseau électricité saison pluie récolte marché croissance industrie usine "
         "logistique frontière sommet dialogue sécurité santé hôpital école université recherche technologie "
         "innovation numérique banque crédit budget impôt douane pêche forêt rivière delta montagne village "
         "ville quartier autoroute pont aéroport navire conteneur bilan projet chantier contrat signature visite "
         "président assemblée député comité conseil région commune habitant jeunesse patrimoine festival musique "
         "cinéma sport football médaille athlète victoire record hausse baisse prix inflation emploi salaire "
         "ouvrier agriculteur pêcheur artisan café poivre caoutchouc textile chaussure acier ciment pétrole gaz "
         "solaire éolien climat inondation sécheresse typhon digue irrigation semence engrais vaccin").split()
WARM_UP = int(os.environ.get("VNAWIRE_BENCH_WARM_UP", "20"))  # 0: measure the first documents too  # documents sent before the measured ones (see run())
PLACES = ["Hanoï", "Da Nang", "Hai Phong", "Can Tho", "Hue", "Quang Ninh", "Vientiane", "Phnom Penh"]


def sentence(r, lo=12, hi=30):
    return " ".join(r.choice(WORDS) for _ in range(r.randint(lo, hi))).capitalize() + "."


def paragraph(r, n):
    return " ".join(sentence(r) for _ in range(n))


def text_dispatch(i):
    """A dispatch of about 4 KB in the layout the text extractor reads."""
    r = random.Random(i)
    title = f"Dépêche {i} : " + " ".join(r.choice(WORDS) for _ in range(7))
    body = [title, paragraph(r, 2), f"{r.choice(PLACES)} (VNA) – " + paragraph(r, 2)]
    while sum(len(p) for p in body) < 3600:
        body.append(paragraph(r, 2))
    return "\n\n".join(body) + " -VNA\n"


def html_page(i):
    """A news page of about 60 KB: head, menu, a unique article of ~9 KB, sidebar, footer, scripts."""
    r = random.Random(i)
    title = f"Dépêche {i} : " + " ".join(r.choice(WORDS) for _ in range(6))
    menu = "".join(f'<li><a href="/rubrique/{k}.html">Rubrique numéro {k}</a></li>\n' for k in range(90))
    article = "".join(f"<p>{paragraph(r, 3)}</p>\n" for _ in range(16))
    side = "".join(f'<li><a href="/populaire/{k}.html">{sentence(r, 5, 9)}</a></li>\n' for k in range(20))
    h = (f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{title} | Le Quotidien</title>'
         f'<meta property="og:title" content="{title}"><meta property="article:published_time" '
         f'content="2026-11-24T08:30:00+07:00"><script>'
         + "".join(f"window.cfg{k}={{slot:{k},lazy:true}};\n" for k in range(60)) +
         f'</script></head><body><header><nav><ul class="menu">{menu}</ul></nav></header><main><article>'
         f'<h1>{title}</h1><p class="byline">Par Claire Martin</p><div class="story-body">{article}</div>'
         f'</article><aside class="sidebar"><ul>{side}</ul></aside></main><footer><ul>'
         + menu.replace("rubrique", "service") + "</ul></footer><script>")
    while len(h.encode()) < 60 * 1024 - 40:
        h += "var t=Date.now();track('view',{p:location.pathname,t:t});\n"
    return h + "</script></body></html>\n"


def log(message):
    print(f"pipeline_bench: {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status, answer.read().decode()
    except OSError:
        return None, ""


def descendants(pid):
    """{pid: argv} of every process below pid."""
    found = {}
    try:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        return found
    for child in map(int, children):
        try:
            found[child] = [a.decode() for a in open(f"/proc/{child}/cmdline", "rb").read().split(b"\0")]
        except OSError:
            continue
        found.update(descendants(child))
    return found


def stage_processes(top_pid):
    """{pid: "stage#replica"} of the stage processes below top_pid (the daemon, or a profiler running it)."""
    return {pid: f"{args[args.index('--stage') + 1]}#{args[args.index('--replica') + 1]}"
            for pid, args in descendants(top_pid).items() if "--stage" in args and "--replica" in args}


def daemon_pid(top_pid):
    """The daemon's pid: top_pid itself, or below it when VNAWIRE_BENCH_WRAP runs it under a profiler."""
    for pid, args in descendants(top_pid).items():
        if len(args) > 1 and args[1] == "run" and "--stage" not in args:
            return pid
    return top_pid


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def context_switches(pid):
    """Voluntary and involuntary switches of every live thread of `pid` (its ZeroMQ I/O threads too): each
    voluntary one is a sleep that something wakes (another thread, or a timer). A thread that ends takes
    its counts with it; the differences are taken no lower than 0."""
    voluntary = involuntary = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # the process ended (a replica restarted): it counts nothing
        return voluntary, involuntary
    for task in tasks:
        try:
            status = open(f"/proc/{pid}/task/{task}/status").read()
        except OSError:  # the thread ended
            continue
        voluntary += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        involuntary += int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
    return voluntary, involuntary


def peak_rss_mb(pid):
    match = re.search(r"^VmHWM:\s+(\d+) kB", open(f"/proc/{pid}/status").read(), re.M)
    return int(match.group(1)) / 1024 if match else 0.0


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def run(args):
    binary = os.path.realpath(args.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary} is missing: build first (scripts/build)")
    work = tempfile.mkdtemp(prefix="vnawire-pbench-")
    staging, inbox = os.path.join(work, "staging"), os.path.join(work, "inbox")
    os.makedirs(staging)
    os.makedirs(inbox)
    ext, make = (".html", html_page) if args.kind == "html" else (".txt", text_dispatch)
    names = [f"d{i:06d}{ext}" for i in range(args.docs)]
    for i, name in enumerate(names):
        with open(os.path.join(staging, name), "w", encoding="utf-8") as f:
            f.write(make(i))
    port = free_port()
    db = os.path.join(work, "state", "out.db")
    # VNAWIRE_BENCH_HWM: every stage's ZeroMQ high-water mark (messages), to weigh memory against throughput.
    hwm = f", hwm: {int(os.environ['VNAWIRE_BENCH_HWM'])}" if os.environ.get("VNAWIRE_BENCH_HWM") else ""
    # VNAWIRE_BENCH_PIPELINE: more pipeline settings, e.g. "idle_flush_ms: 0", to weigh one against its default.
    extra = f", {os.environ['VNAWIRE_BENCH_PIPELINE']}" if os.environ.get("VNAWIRE_BENCH_PIPELINE") else ""
    with open(os.path.join(work, "pipeline.yaml"), "w") as f:
        f.write(f"""pipeline: {{state_dir: {work}/state, log_level: warn, metrics_address: "127.0.0.1:{port}"{extra}}}
stages:
  - {{name: fetch, type: fetch{hwm}, options: {{directory: {inbox}, recursive: true, settle_ms: 0,
                                           poll_interval_ms: {10 if args.rate else 1000}}}}}
  - {{name: dedupe, type: dedupe, inputs: [fetch]{hwm}}}
  - {{name: langid, type: langid, inputs: [dedupe]{hwm}}}
  - {{name: extract, type: extract, replicas: {args.replicas}, inputs: [langid]{hwm}}}
  - {{name: sink, type: sink_sqlite, inputs: [extract]{hwm}, options: {{path: out.db}}}}
""")
    daemon_log = open(os.path.join(work, "daemon.log"), "w")
    # e.g. VNAWIRE_BENCH_WRAP="perf record -e cpu-clock -g -o /tmp/pipeline.perf --" to profile every stage.
    wrap = os.environ.get("VNAWIRE_BENCH_WRAP", "").split()
    daemon = subprocess.Popen(wrap + [binary, "run", "-c", os.path.join(work, "pipeline.yaml")], stdout=daemon_log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while http_get(f"http://127.0.0.1:{port}/readyz")[0] != 200:
            if daemon.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the pipeline did not become ready; its log: {work}/daemon.log")
            time.sleep(0.05)
        # Warm-up: the first documents through fresh processes load dictionaries and models and take a
        # few hundred ms; they are sent and stored first and left out of every figure.
        warm = os.path.join(work, "warm-up")
        os.makedirs(warm)
        for i in range(WARM_UP):
            with open(os.path.join(warm, f"w{i:06d}{ext}"), "w", encoding="utf-8") as f:
                f.write(make(args.docs + i))
        os.rename(warm, os.path.join(inbox, "warm-up"))
        first_row = 0
        while first_row < WARM_UP:
            if daemon.poll() is not None or time.monotonic() > deadline + 60:
                sys.exit(f"the warm-up documents did not reach SQLite; its log: {work}/daemon.log")
            time.sleep(0.05)
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
                    first_row = con.execute("SELECT count(*) FROM documents").fetchone()[0]
            except sqlite3.Error:
                pass
        shutil.rmtree(os.path.join(inbox, "warm-up"))
        stages = stage_processes(daemon.pid)
        cpu_before = {pid: cpu_seconds(pid) for pid in stages}
        switches_before = {pid: context_switches(pid) for pid in stages}
        log(f"{args.docs} {args.kind} documents, extract x{args.replicas}, "
            + (f"offered at {args.rate:g}/s" if args.rate else "all at once"))

        visible = {}
        stop_polling = threading.Event()

        def poll_sqlite():
            last = WARM_UP
            while not stop_polling.is_set():
                try:
                    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
                    break
                except sqlite3.Error:
                    time.sleep(0.01)
            while not stop_polling.is_set():
                try:
                    rows = con.execute("SELECT rowid, url FROM documents WHERE rowid > ?", (last,)).fetchall()
                except sqlite3.Error:  # the table is not there yet
                    rows = []
                now = time.monotonic()
                for rowid, url in rows:
                    visible.setdefault(os.path.basename(url), now)
                    last = max(last, rowid)
                    if args.rate:
                        os.unlink(url.removeprefix("file://"))
                if len(visible) >= args.docs:
                    return
                time.sleep(0.002)

        poller = threading.Thread(target=poll_sqlite)
        dropped = {}
        start = time.monotonic()
        poller.start()
        if not args.rate:
            dropped = dict.fromkeys(names, time.monotonic())
            os.rename(staging, os.path.join(inbox, "batch"))
        for i, name in enumerate(names if args.rate else []):
            delay = start + i / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            dropped[name] = time.monotonic()
            os.rename(os.path.join(staging, name), os.path.join(inbox, name))
        poller.join(timeout=max(120, 20 * args.docs / 100))
        stop_polling.set()
        poller.join()
        if len(visible) < args.docs:
            sys.exit(f"only {len(visible)} of {args.docs} documents reached SQLite; work dir kept: {work}")
        first, end = min(visible.values()), max(visible.values())
        per_stage = {}
        for pid, name in stages.items():
            stage = name.split("#")[0]
            entry = per_stage.setdefault(stage, {"processes": 0, "cpu_s": 0.0, "peak_rss_mb": 0.0,
                                                 "sleeps_per_doc": 0.0, "preempted_per_doc": 0.0})
            entry["processes"] += 1
            entry["cpu_s"] += cpu_seconds(pid) - cpu_before[pid]
            voluntary, involuntary = context_switches(pid)
            entry["sleeps_per_doc"] += max(0, voluntary - switches_before[pid][0]) / args.docs
            entry["preempted_per_doc"] += max(0, involuntary - switches_before[pid][1]) / args.docs
            entry["peak_rss_mb"] = max(entry["peak_rss_mb"], peak_rss_mb(pid))
        latencies = sorted((visible[n] - dropped[n]) * 1000 for n in names)
        cpu_total = sum(e["cpu_s"] for e in per_stage.values())
        result = {
            "kind": args.kind, "docs": args.docs, "replicas": args.replicas, "rate": args.rate,
            "seconds": end - first, "docs_per_s": (args.docs - 1) / (end - first),
            "latency_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                           "max": latencies[-1]},
            # The five slowest: when each was dropped (s from the first) and how long it took (ms).
            "slowest": sorted(((round(dropped[n] - start, 3), round((visible[n] - dropped[n]) * 1000, 1))
                               for n in names), key=lambda pair: -pair[1])[:5],
            "cpu_ms_per_doc": cpu_total * 1000 / args.docs,
            "stages": per_stage,
            "load": os.getloadavg()[0],
        }
    finally:
        if daemon.poll() is None:
            os.kill(daemon_pid(daemon.pid), signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
        daemon_log.close()
    shutil.rmtree(work, ignore_errors=True)
    return result


def filter_cpu(binary, argv, source, target):
    """CPU seconds of one filter process reading source into target (its children's rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(source, "rb") as stdin, open(target, "wb") as stdout:
        subprocess.run([binary] + argv, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_filters(args):
    binary = os.path.realpath(args.binary)
    limit_tool = os.path.join(os.path.dirname(binary), "bench", "vnawire_json_limit")
    work = tempfile.mkdtemp(prefix="vnawire-fbench-")
    ext, make = (".html", html_page) if args.kind == "html" else (".txt", text_dispatch)
    content_type = "text/html" if args.kind == "html" else "text/plain"
    first = os.path.join(work, "fetch.jsonl")
    with open(first, "w", encoding="utf-8") as f:
        for i in range(args.docs):
            url = f"file://{work}/d{i:06d}{ext}"
            # UTF-8 as it is, as the fetch stage writes it: \u escapes would make the first filter's parsing
            # several times dearer than in the pipeline.
            f.write(json.dumps({"id": f"f-{i:016x}", "url": url, "content_type": content_type, "body": make(i),
                                "source": "fetch", "fetched_at": "2026-12-02T12:00:00Z"}, ensure_ascii=False) + "\n")
    one = os.path.join(work, "one.jsonl")
    with open(first, encoding="utf-8") as f, open(one, "w", encoding="utf-8") as out:
        out.write(f.readline())
    result = {"kind": args.kind, "docs": args.docs, "stages": {}}
    source = first
    for stage in ("dedupe", "langid", "extract"):
        argv = [stage] + (["--state-dir", os.path.join(work, "dedupe-state")] if stage == "dedupe" else [])
        log(f"filter {stage} on {args.docs} {args.kind} records")
        target = os.path.join(work, f"{stage}.jsonl")
        seconds = filter_cpu(binary, argv, source, target)
        if stage == "dedupe":
            shutil.rmtree(os.path.join(work, "dedupe-state"), ignore_errors=True)
        startup = filter_cpu(binary, argv, one, os.path.join(work, "startup.jsonl"))
        result["stages"][stage] = {"cpu_ms_per_doc": max(0.0, seconds - startup) * 1000 / args.docs,
                                   "startup_s": startup}
        if os.access(limit_tool, os.X_OK):
            # The JSON this stage does per document: parsing what it reads, dumping what it writes.
            codec = subprocess.run([limit_tool, "--codec", source, target], check=True, capture_output=True, text=True)
            result["stages"][stage]["codec_us"] = float(codec.stdout.split()[0])
        source = target
    # The same three filters at once, as a shell pipeline (dedupe | langid | extract): the stages' own work
    # with their processes sharing the two cores and their caches as in the pipeline, and a pipe's copy for
    # transport. What the pipeline costs beyond this is its transport, acknowledgements and supervision.
    log(f"filters dedupe | langid | extract at once on {args.docs} {args.kind} records")
    shutil.rmtree(os.path.join(work, "dedupe-state"), ignore_errors=True)
    processes, upstream = [], open(first, "rb")
    for stage in ("dedupe", "langid", "extract"):
        argv = [stage] + (["--state-dir", os.path.join(work, "dedupe-state")] if stage == "dedupe" else [])
        out = open(os.path.join(work, "concurrent.jsonl"), "wb") if stage == "extract" else subprocess.PIPE
        process = subprocess.Popen([binary] + argv, stdin=upstream, stdout=out, stderr=subprocess.DEVNULL)
        upstream.close()
        if out is not subprocess.PIPE:
            out.close()  # the child has its own copy
        upstream = process.stdout if stage != "extract" else None
        processes.append((stage, process))
    concurrent = {}
    for stage, process in processes:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            sys.exit(f"filter {stage} exited {process.returncode}")
        startup = result["stages"][stage]["startup_s"]
        concurrent[stage] = max(0.0, usage.ru_utime + usage.ru_stime - startup) * 1000 / args.docs
    for stage, ms in concurrent.items():
        result["stages"][stage]["concurrent_cpu_ms_per_doc"] = ms
    if os.access(limit_tool, os.X_OK):
        words = subprocess.run([limit_tool, source], check=True, capture_output=True, text=True).stdout.split()
        result["limit"] = {"docs_per_s": float(words[3]), "round_trip_us": float(words[4]),
                           "record_bytes": int(words[1]) / int(words[0])}
    shutil.rmtree(work, ignore_errors=True)
    result["load"] = os.getloadavg()[0]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default="build/vnawire")
    parser.add_argument("--kind", choices=["text", "html"], default="text")
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.0, help="documents/s offered (0: all at once)")
    parser.add_argument("--filters", action="store_true", help="the stages as JSON Lines filters instead")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run_filters(args) if args.filters else run(args)
    if args.json:
        print(json.dumps(result))
        return
    if args.filters:
        for stage, e in result["stages"].items():
            codec = f" (its JSON {e['codec_us']:.1f} us)" if "codec_us" in e else ""
            print(f"{stage} filter: {e['cpu_ms_per_doc']:.3f} ms CPU/doc{codec}, "
                  f"{e['concurrent_cpu_ms_per_doc']:.3f} with the three at once")
        if "limit" in result:
            print(f"limit: {result['limit']['docs_per_s']:.0f} records/s read and parsed, JSON round trip "
                  f"{result['limit']['round_trip_us']:.1f} us ({result['limit']['record_bytes']:.0f} B/record)")
        return
    print(f"{result['docs']} {result['kind']} documents, extract x{result['replicas']}: {result['seconds']:.2f} s, "
          f"{result['docs_per_s']:.0f} docs/s (load {result['load']:.2f})")
    lat = result["latency_ms"]
    print(f"latency drop -> SQLite: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms")
    print(f"CPU of the stage processes: {result['cpu_ms_per_doc']:.3f} ms/doc")
    for stage, e in result["stages"].items():
        print(f"  {stage}: {e['processes']} process(es), CPU {e['cpu_s']:.2f} s, peak RSS {e['peak_rss_mb']:.1f} MB, "
              f"{e['sleeps_per_doc']:.2f} sleeps and {e['preempted_per_doc']:.2f} preemptions per document")


if __name__ == "__main__":
    main()
