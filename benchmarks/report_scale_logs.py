"""Render docs/benchmarks-scale-logs.md from the results of run_scale_logs.py.

Why a module of its own: the page is regenerated from saved results (--report-only) whenever
its wording changes, without re-running half an hour of measurements; and every number on it
comes from the results file, none is typed by hand. Medians over runs, with min to max.
"""

from __future__ import annotations

import statistics
from typing import Any

import scale

METHOD = """## What is measured

- **Cluster**: the shared local KWOK cluster (kube-apiserver, etcd, scheduler, controller-manager
  and the KWOK controller on the same 2 cores as everything below). Benchmark pods go to a
  dedicated fake node `faro-bench-0` (tainted `faro.dev/bench:NoSchedule`, pod capacity 1M; the
  pods tolerate it) so the two 110-pod test nodes and other people's pods are left alone. The
  node and every `bench-*` namespace are deleted at the end.
- **Scale** (`benchmarks/scale.py`): bare pods, 10 per namespace `bench-scale-NNNN` (one
  container, env, ports, requests, labels, annotations), created by 48 concurrent POSTs;
  scheduled by kube-scheduler (a `Scheduled` Event each) and started by KWOK (`Pulled`,
  `Started`). "all Running" is when no pod of the benchmark is in another phase. 1-replica
  Deployments `bench-primary` in the first 5 namespaces are the only primaries.
- **Faro** runs as the library (`faro.Faro`, `FaroConfig(resources=[apps/v1/Deployment,
  namespace_patterns=["bench-scale-.*"], name_pattern="bench-primary"], include_logs=False,
  json_export=False, metrics_port=0)`) in its own process, so its RSS is its own. Because
  the namespace rule is a pattern, Faro watches ReplicaSets, Pods, Jobs, ControllerRevisions,
  EndpointSlices, PVCs and Events cluster-wide. **start -> on_ready** is from process spawn
  (Python start-up and imports included) and from `Faro.run()` to the `on_ready` callback
  (every watch listed and synced). Then 10 s to settle; **steady RSS** is the RSS at the end
  of the idle window, **CPU %** is (user + system CPU time) / wall time over that window
  (psutil). "objects known to reflectors" and "owner-graph nodes" are read from the engine.
- **Logs** (`benchmarks/logstreams.py`): per trial, 500 fresh pods in 5 namespaces
  `bench-logs-N`, each with a KWOK `Logs` object pointing at its CRI file
  `$FARO_TESTBED_LOGS/<ns>/<pod>/app.log`, which holds one line before the consumer starts.
  ONE consumer runs per trial: Faro (library, child process; the trial's pods as primaries,
  `include_logs=True`, `max_log_streams=500`, lines counted in `on_event`), or stern v1.33.0
  built from its Go module (`stern -A -l bench-trial=<trial> --max-log-requests 1000 -o raw`,
  stdout to a file). When the consumer has every pod's first line, the Go writer
  (`benchmarks/logwriter`) appends `<pod> <seq> <~80 bytes>` lines open loop at the stated
  total rate for the stated seconds, round robin over the pods, one write(2) per file per
  10 ms tick. **lines/s captured** = lines received after the first / (time of the last
  received line - writer start). Then the pods are deleted (grace 1 s); for Faro we wait for
  the 500 stories to close (its final reads happen then). **lost** = (pod, seq) written but
  never received, **duplicates** = received more than once. **RSS** and **CPU s** are the
  consumer's (CPU from writer start until caught up); **KWOK inotify peak** is how many
  inotify instances the KWOK controller held (one per follow stream it serves).
- Runs alternate which consumer goes first; medians over runs, min to max in parentheses.""".splitlines()


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def span(xs: list[float], fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(med(xs))} ({fmt.format(min(xs))} to {fmt.format(max(xs))})" if xs else "n/a"


def disturbed(r: dict[str, Any]) -> str:
    return f"{r['after_idle'].get('watch_restarts', '?')}/{'yes' if r.get('tests_running') else 'no'}"


def scale_section(sc: dict[str, Any]) -> list[str]:
    pop, g = sc["populate"], sc["grow"]
    out = ["## 1. Scale: Faro among 10,000 pods that belong to no story", ""]
    out += ["| step | namespaces | pods | POSTs done s | all Running s | pods/s | Events in cluster after |"]
    out += ["|---|---:|---:|---:|---:|---:|---:|"]
    for label, p in zip(("first half, nothing watching", "second half, while Faro runs"), pop, strict=False):
        rate = p["pods"] / p["running_s"]
        out.append(
            f"| {label} | {p['namespaces']:,} | {p['pods']:,} | {p['post_s']:.1f} | {p['running_s']:.1f} "
            f"| {rate:.0f} | {p['events']:,} |"
        )
    out += ["", f"Deleting all {sc['pods'] // scale.PER_NS:,} namespaces took {sc['delete_s']:.0f} s.", ""]
    out += [
        "| unrelated pods | runs | start -> on_ready s (process) | Faro.run() -> on_ready s "
        "| RSS at ready MB | steady RSS MB | CPU % idle | goals: ready <= 10 s, RSS <= 150 MB "
        "| watch restarts / other tests running, per run |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for key, n in (("small", sc["pods"] // 2), ("large", sc["pods"])):
        runs = sc[key]
        ready, rss = [r["spawn_to_ready_s"] for r in runs], [r["rss_end_mb"] for r in runs]
        ok = f"{'met' if med(ready) <= 10 else '**not met**'}, {'met' if med(rss) <= 150 else '**not met**'}"
        out.append(
            f"| {n:,} | {len(runs)} | {span(ready)} | {span([r['run_to_ready_s'] for r in runs])} "
            f"| {span([r['rss_at_ready_mb'] for r in runs], '{:.0f}')} | {span(rss, '{:.0f}')} "
            f"| {span([r['cpu_pct'] for r in runs], '{:.2f}')} over {runs[0]['idle_s']:.0f} s | {ok} "
            f"| {', '.join(disturbed(r) for r in runs)} |"
        )
    out += [
        "",
        "Memory against objects that belong to no story (the same Faro process, before and after "
        f"{g['grow']['pods']:,} more pods were created while it ran; then fresh starts):",
        "",
    ]
    out += [
        "| when | RSS MB | objects known to reflectors | owner-graph nodes | bound to a story "
        "| events handled |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [
        ("growth run, before", g["after_idle"]),
        ("growth run, after (+settle)", g["after_grow"]),
        (
            "growth run, after a further 20 s idle",
            {**g["after_grow"], "rss_mb": g["grow_idle"]["rss_end_mb"]},
        ),
    ]
    rows += [
        (
            f"fresh start at {n:,} pods (median RSS)",
            {**sc[k][0]["after_idle"], "rss_mb": med([r["rss_end_mb"] for r in sc[k]])},
        )
        for k, n in (("small", sc["pods"] // 2), ("large", sc["pods"]))
    ]
    for label, st in rows:
        out.append(
            f"| {label} | {st['rss_mb']:.0f} | {st['reflector_known']:,} | {st['graph_nodes']:,} "
            f"| {st['bound']:,} | {st['processed']:,} |"
        )
    return out


def logs_table(trials: list[dict[str, Any]]) -> list[str]:
    out = [
        "| rate (lines/s) | consumer | runs | lines/s captured | written/s | lost lines (per run) "
        "| duplicates | lines we did not write | peak RSS MB | CPU s | all streams open s "
        "| caught up s after writer | KWOK inotify peak | notes |",
        "|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for rate in sorted({t["rate"] for t in trials}):
        for kind in ("faro", "stern"):
            ts = [t for t in trials if t["rate"] == rate and t["consumer"] == kind]
            if not ts:
                continue
            if kind == "faro":
                c = [t["faro_counters"] for t in ts]
                note = "reconnects " + ", ".join(str(x["reconnects"]) for x in c)
                note += "; lines read / reached on_event " + ", ".join(
                    f"{x['lines']:,} / {t['received'] + t['junk_lines']:,}"
                    for x, t in zip(c, ts, strict=True)
                )
            else:
                note = "tail errors " + ", ".join(str(t["stern"].get("tail_errors", "?")) for t in ts)
            lost = ", ".join(format(t["lost"], ",") for t in ts)
            out.append(
                f"| {rate:,} | {kind} | {len(ts)} | {span([t['lines_per_s'] for t in ts], '{:,.0f}')} "
                f"| {med([t['written_per_s'] for t in ts]):,.0f} | {lost} "
                f"| {sum(t['duplicates'] for t in ts)} | {sum(t['junk_lines'] for t in ts)} "
                f"| {span([t['peak_rss_mb'] for t in ts], '{:,.0f}')} | {span([t['cpu_s'] for t in ts])} "
                f"| {span([t['all_streams_s'] for t in ts])} | {span([t['caught_up_after_s'] for t in ts])} "
                f"| {max(t['kwok_inotify_peak'] for t in ts)} | {note} |"
            )
    return out


def logs_section(trials: list[dict[str, Any]]) -> list[str]:
    out = ["## 2. Logs: 500 concurrent follow streams through the apiserver", ""]
    limits = sorted({t["inotify_limit"] for t in trials}, reverse=True)
    for limit in limits:
        ts = [t for t in trials if t["inotify_limit"] == limit]
        raised = limit == limits[0] and len(limits) > 1
        what = "raised for these trials" if raised else "as found on this machine"
        out += [f"### fs.inotify.max_user_instances = {limit} ({what})", "", *logs_table(ts), ""]
        lost = [t for t in ts if t["lost"] or t["junk_lines"]]
        if lost:
            out += [
                "Lost lines, exactly (first 5 seq numbers of the first pods), and lines we did not write:",
                "",
            ]
            out += [
                f"- {t['consumer']} at {t['rate']:,}/s run {t['run'] + 1}: {t['lost']:,} lines lost in "
                f"{len(t['lost_pods'])} pods, e.g. {dict(list(t['lost_pods'].items())[:2])}; "
                f"{t['junk_lines']} lines we did not write: {t['junk_examples']}"
                for t in lost
            ]
            out.append("")
    return out


def render(res: dict[str, Any], command: str) -> str:
    m = res["machine"]
    out = [
        "# Scale and log-stream benchmarks",
        "",
        "Regenerate (about 40 minutes; needs the local KWOK cluster "
        "from `testbed/`, Go and the Go module proxy):",
        "",
        "```sh",
        command,
        "```",
        "",
        f"Generated on {res['date']} ({res['duration_s'] / 60:.0f} min) with "
        f"`{' '.join(f'--{k}={v}' for k, v in res['args'].items())}`. Every number below comes from that run "
        "(`~/.cache/faro/bench/scale-logs.json`); regenerate rather than edit. Ingest throughput and capture "
        "lag are on [benchmarks.md](benchmarks.md).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    out += [
        f"| {k} | {v} |"
        for k, v in (
            ("CPU", f"{m['cpu']}, {m['nproc']} cores (`nproc`)"),
            ("memory", f"{m['mem_gib']:.1f} GiB"),
            ("Python", m["python"]),
            ("Go", m["go"]),
            ("Faro", m["faro"]),
            ("cluster", f"{m['server']} (KWOK, `testbed/`)"),
            ("fs.inotify.max_user_instances", m["inotify_max_user_instances"]),
            ("load average before / after", f"{m['load_before']} / {m['load_after']}"),
        )
    ]
    out += ["", *METHOD, ""]
    if res.get("scale"):
        out += [*scale_section(res["scale"]), ""]
    if res.get("logs"):
        out += [*logs_section(res["logs"]), ""]
    out += discussion(res)
    return "\n".join(out) + "\n"


def discussion(res: dict[str, Any]) -> list[str]:
    return ["## Discussion", ""]
