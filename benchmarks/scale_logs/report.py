"""Rewrite the generated blocks of docs/benchmarks-scale-logs.md from the results of scale_logs/run.py.

Why a module of its own: the page is regenerated from saved results (--report-only) when its wording
changes, without re-running 40 minutes of measurements. The page's method and caveats are written by
hand in the page; what sits between its `<!-- generated: NAME -->` and `<!-- end -->` markers (the
run, the machine, the tables, the discussion's figures) is rewritten here from the results file
(common/page.py), and nothing else.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchmarks.common.page import Block, rewrite
from benchmarks.diagnostics import logdiag
from benchmarks.scale_logs import scale


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def span(xs: list[float], fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(med(xs))} ({fmt.format(min(xs))} to {fmt.format(max(xs))})" if xs else "n/a"


POP_HEAD = "| step | namespaces | pods | POSTs done s | all Running s | pods/s | Events in cluster after |"
ALIGN7 = "|---|---:|---:|---:|---:|---:|---:|"
MEM_HEAD = (
    "| when | RSS MB | objects known to reflectors | owner-graph nodes | bound to a story | events handled |"
)


def col(rows: list[dict[str, Any]], key: str) -> float:
    return med([r[key] for r in rows])


def disturbed(r: dict[str, Any]) -> str:  # a disturbed run is visible in the table
    return f"{r['after_idle'].get('watch_restarts', '?')}/{'yes' if r.get('tests_running') else 'no'}"


def scale_section(sc: dict[str, Any]) -> list[str]:
    pop, g = sc["populate"], sc["grow"]
    out = ["## 1. Scale: Faro among 10,000 pods that belong to no story", "", POP_HEAD, ALIGN7]
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
        MEM_HEAD,
        "|---|---:|---:|---:|---:|---:|",
    ]
    grown = {**g["after_grow"], "rss_mb": g["grow_idle"]["rss_end_mb"]}
    rows = [("growth run, before", g["after_idle"]), ("growth run, after (+settle)", g["after_grow"])]
    rows.append(("growth run, after a further 20 s idle", grown))
    for k, n in (("small", sc["pods"] // 2), ("large", sc["pods"])):
        fresh = {**sc[k][0]["after_idle"], "rss_mb": col(sc[k], "rss_end_mb")}
        rows.append((f"fresh start at {n:,} pods (median RSS)", fresh))
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
        "| caught up s after writer | KWOK inotify peak | TCP connections | notes |",
        "|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for rate in sorted({t["rate"] for t in trials}):
        for kind in ("faro", "stern"):
            ts = [t for t in trials if t["rate"] == rate and t["consumer"] == kind]
            if not ts:
                continue
            if kind == "faro":
                note = "reconnects " + ", ".join(str(t["faro_counters"]["reconnects"]) for t in ts)
                read = [f"{t['faro_counters']['lines']:,} / {t['received'] + t['junk_lines']:,}" for t in ts]
                note += "; lines read / reached on_event " + ", ".join(read)
                if all("gc_s" in t for t in ts):  # the CPU s window
                    gcs = ", ".join(
                        f"{sum(t['gc_s']):.2f} s ({t['gc_s'][2]:.2f} s in {t['gc_collections'][2]} full)"
                        for t in ts
                    )
                    note += f"; CPU s in the cyclic GC {gcs}"
            else:
                note = "tail errors " + ", ".join(str(t["stern"].get("tail_errors", "?")) for t in ts)
            lost = ", ".join(format(t["lost"], ",") for t in ts)
            out.append(
                f"| {rate:,} | {kind} | {len(ts)} | {span([t['lines_per_s'] for t in ts], '{:,.0f}')} "
                f"| {med([t['written_per_s'] for t in ts]):,.0f} | {lost} "
                f"| {sum(t['duplicates'] for t in ts)} | {sum(t['junk_lines'] for t in ts)} "
                f"| {span([t['peak_rss_mb'] for t in ts], '{:,.0f}')} | {span([t['cpu_s'] for t in ts])} "
                f"| {span([t['all_streams_s'] for t in ts])} | {span([t['caught_up_after_s'] for t in ts])} "
                f"| {max(t['kwok_inotify_peak'] for t in ts)} | {_tcp(ts)} | {note} |"
            )
    return out


def _tcp(ts: list[dict[str, Any]]) -> str:
    held = [t["tcp"] for t in ts if "tcp" in t]
    if not held:
        return "n/a"
    return f"{held[0]:,}" if min(held) == max(held) else f"{min(held):,} to {max(held):,}"


def logs_section(trials: list[dict[str, Any]]) -> list[str]:
    out = ["## 2. Logs: 500 concurrent follow streams through the apiserver", ""]
    limits = sorted({t["inotify_limit"] for t in trials}, reverse=True)
    for limit in limits:
        ts = [t for t in trials if t["inotify_limit"] == limit]
        what = "raised here, then restored" if limit != limits[-1] else "as found on this machine"
        out += [f"### fs.inotify.max_user_instances = {limit} ({what})", "", *logs_table(ts), ""]
        lost = [t for t in ts if t["lost"] or t["junk_lines"]]
        if lost:
            out += [
                "Lost lines, exactly (first seq numbers of the first pods), and lines we did not write:",
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


def _flags(args: dict[str, Any]) -> str:
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in args.items() if v is not False)


def _parts(res: dict[str, Any]) -> str:
    """Parts measured by an earlier invocation (the other part skipped) say so."""
    rows = [
        f"- {name}: measured {p['date']} with `{_flags(p['args'])}`, Faro source `{p['source']}`"
        for name, p in sorted((res.get("parts") or {}).items())
        if p["date"] != res["date"]
    ]
    return (
        "\nMeasured by an earlier invocation of the same command:\n\n" + "\n".join(rows) + "\n"
        if rows
        else ""
    )


def _source(m: dict[str, Any]) -> str:
    if m.get("snapshot"):  # scale_logs/run.py copies src/faro once and every Faro runs the copy
        return f"`{m['source']}` (a copy of src/faro taken at the start, used throughout)"
    return f"`{m['source']}` (sha256 of src/faro, `{m['source_after']}` at the end)"


def run_block(res: dict[str, Any]) -> list[str]:
    m = res["machine"]
    return [
        f"Generated on {res['date']} ({res['duration_s'] / 60:.0f} min) with `{_flags(res['args'])}`, Faro "
        f"source {_source(m)}. Every number between this page's markers comes from that run "
        "(`~/.cache/faro/bench/scale-logs.json`).",
        *_parts(res).splitlines(),
    ]


def machine_block(res: dict[str, Any]) -> list[str]:
    m = res["machine"]
    return [
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']}, {m['nproc']} cores (`nproc`) |",
        f"| memory | {m['mem_gib']:.1f} GiB |",
        f"| Python | {m['python']} |",
        f"| Go | {m['go']} |",
        f"| Faro | {m['faro']} |",
        f"| cluster | {m['server']} (KWOK, `testbed/`) |",
        f"| fs.inotify.max_user_instances | {m['inotify_max_user_instances']} (as found) |",
        f"| load average before / after | {m['load_before']} / {m['load_after']} |",
    ]


def logs_block(res: dict[str, Any]) -> list[str] | None:
    if not res.get("logs"):
        return None
    section = logs_section(res["logs"])
    if res.get("logs_from"):  # a run that re-measured scale only keeps older log trials
        section[1:1] = ["", f"These log-stream trials come from {res['logs_from']}.", ""]
    return section


def blocks(res: dict[str, Any]) -> dict[str, Block]:
    if not res:
        return {}
    return {
        "run": lambda: run_block(res),
        "machine": lambda: machine_block(res),
        "scale": lambda: scale_section(res["scale"]) if res.get("scale") else None,
        "logs": lambda: logs_block(res),
        "log diagnostics": lambda: logdiag.render(res["log_diag"]) if res.get("log_diag") else None,
        "discussion": lambda: discussion(res),
    }


def write(res: dict[str, Any], page: Path) -> list[str]:
    """Rewrite the page's generated blocks; returns those kept as they were (no results)."""
    text, kept = rewrite(page.read_text(), blocks(res))
    page.write_text(text)
    return kept


SCALE_TEXT = """\
- **Start-up**: {ready:.1f} s from process start to `on_ready` among {pods:,} pods ({run:.1f} s in
  `Faro.run()`, the rest is the interpreter and imports): the 10 s goal is {ready_goal}. It grows with
  what is listed ({run_small:.1f} s at half the pods), since every listed object goes through the
  pipeline first. **Idle CPU**: {cpu:.2f} % of a core.
- **RSS**: {rss_small:.0f} MB at {half:,} pods, {rss:.0f} MB at {pods:,} (goal 150 MB: {rss_goal}). Faro
  itself starts at {base} (the interpreter and Faro's imports, measured in the same process before it
  connects), so the cluster's objects cost the difference. kubernetes_asyncio's generated API classes
  and models (~31 MB) are not imported: Faro needs only its kubeconfig loader and session
  (src/faro/kube/loader_import.py, tests/unit/kube/test_loader_import.py). Objects of no story are read by
  their head only: a reflector decodes uid, name, namespace, resourceVersion and ownerReferences with msgspec
  (src/faro/kube/decode.py) and the object stays one `bytes` value, decoded only if it turns out to
  belong to a story (tests/unit/kube/test_decode.py checks that the others never are). What stays per
  unrelated object is a reflector entry (what a relist diff needs) and an owner-graph node. History:
  before that change every listed object was decoded in full and the start-up garbage pinned the
  allocator's arenas (330 MB at 10,000 pods in this page's previous generation).
- **Objects of no story do not accumulate**: {d_obj:,} more objects (pods and their Events) arriving
  while Faro ran changed its RSS by {d_rss:+.1f} MB, and none entered a story ("bound to a story" stays
  at the 5 Deployments' objects).
- **Creating the pods**: {created:,} were POSTed in {post:.0f} s (48 in flight) but all Running only after
  {running:.0f} s, ~50/s: kube-scheduler's default client QPS (50) for Binding calls. A running Faro did
  not slow it ({running2:.0f} s for the second half).
"""
LOGS_TEXT = """\
- **500 real follow streams**: Faro and stern both received every line, once (lost: {lost}, duplicates:
  {dups} in {trials} trials), and kept up at {top:,} lines/s (caught up at most {caught:.1f} s after the
  writer). CPU for {top:,} lines/s x {secs:.0f} s: Faro {cpu_f:.1f} s, stern {cpu_s:.1f} s. Faro reads
  each stream on a TLS connection of its own ({tcp_f} TCP connections, its watches included: aiohttp
  speaks HTTP/1.1), while stern's client-go multiplexes its streams over HTTP/2 ({tcp_s}). A trickling
  stream pauses between reads, 0.25 s at first and doubling up to 1 s while it keeps trickling, so a
  chunk carries every line that arrived meanwhile instead of one (src/faro/kube/client.py
  `_coalesced`); history, per trial in this page's earlier generations: reading each chunk as it
  came, Faro used 12.3 to 12.6 CPU s at 20,000 lines/s; with a fixed 0.25 s pause, 7.4 s at 20,000
  and 3.4 s at 5,000 lines/s. Faro opened
  its 500 streams in {open_f:.1f} s, stern in {open_s:.0f} s (client-go's default limit of 5 requests/s,
  which stern offers no flag for).
- **Faro keeps every line of every open story in memory**: {rss_f:,.0f} MB peak at {lines:,} lines
  (~{kb:.2f} KB per line, the process's base included: {base_logs}), against {rss_s:.0f} MB for stern, which
  prints and forgets. A story keeps a log line as its time and text plus a reference to the JSON
  that all lines of its container instance share (src/faro/model/buffer/stored.py), packed into arrays
  (src/faro/model/buffer/arena.py; the bytes a kept line costs in isolation are in benchmarks.md,
  section 3). Each stream's TLS connection
  reads into a 64 KiB buffer (src/faro/kube/tls.py), resident only where a read wrote into it:
  asyncio's default, 256 KiB zero-filled per connection, was ~135 MB of the peak with 500 streams,
  and 64 KiB zero-filled still 32 MB. The per-story cap (20,000 events) bounds a story, not Faro.
"""
FOUND_TEXT = """\
- **At this machine's fs.inotify.max_user_instances ({limit})** the fake kubelet follows only ~123
  streams: it reads logs with the kubelet's code (k8s.io/cri-client ReadLogs), which needs an inotify
  instance per follow stream and, when none is left, writes `failed to create fsnotify watcher: too many
  open files` into the body after the lines it has, and ends the stream, as real kubelets do
  (derailed/k9s#1399, siderolabs/talos#5122). stern prints that text as a line and stops following.
  Faro does not take it for a line (it has no RFC 3339 timestamp: src/faro/kube/podlog.py `split_line`),
  so it never moves the resume point, and reconnects with sinceTime: {reconnects:,} reconnects,
  {lost:,} lines lost in that trial.
"""


def discussion(res: dict[str, Any]) -> list[str]:
    """Numbers come from the results; the causes were found while building these benchmarks."""
    out: list[str] = []
    if sc := res.get("scale"):
        large, small, g, pop, pods = sc["large"], sc["small"], sc["grow"], sc["populate"], sc["pods"]
        ready, rss, run, cpu = (
            col(large, k) for k in ("spawn_to_ready_s", "rss_end_mb", "run_to_ready_s", "cpu_pct")
        )
        ready_goal, rss_goal = ("met" if ok else "**not met**" for ok in (ready <= 10, rss <= 150))
        run_small, rss_small, half = col(small, "run_to_ready_s"), col(small, "rss_end_mb"), pods // 2
        d_obj = g["after_grow"]["reflector_known"] - g["after_idle"]["reflector_known"]
        rss_grown = g["grow_idle"]["rss_end_mb"]
        d_rss = rss_grown - g["after_idle"]["rss_mb"]
        created, post, running = (pop[0][k] for k in ("pods", "post_s", "running_s"))
        running2 = pop[-1]["running_s"]
        imported = [r["rss_imported_mb"] for r in large if r.get("rss_imported_mb")]
        base = f"{med(imported):.0f} MB" if imported else "(not measured in this run)"
        out.append(SCALE_TEXT.format(**locals()))
    limit = res["machine"]["inotify_max_user_instances"]
    found = [t for t in res.get("logs", []) if t["inotify_limit"] == limit]
    main = [t for t in res.get("logs", []) if t["inotify_limit"] != limit] or found
    if main:
        top = max(t["rate"] for t in main)
        f = [t for t in main if t["consumer"] == "faro" and t["rate"] == top]
        st = [t for t in main if t["consumer"] == "stern" and t["rate"] == top]
        lost, dups, trials = sum(t["lost"] for t in main), sum(t["duplicates"] for t in main), len(main)
        caught, lines = max(t["caught_up_after_s"] for t in main), f[0]["received"]
        cpu_f, open_f, rss_f = (col(f, k) for k in ("cpu_s", "all_streams_s", "peak_rss_mb"))
        cpu_s, open_s, rss_s = (col(st, k) for k in ("cpu_s", "all_streams_s", "peak_rss_mb"))
        kb, secs = med([t["peak_rss_mb"] * 1024 / t["received"] for t in f]), col(f, "write_s")
        tcp_f, tcp_s = _tcp(f), _tcp(st)
        imported = [
            r["rss_imported_mb"]
            for r in (res.get("scale") or {}).get("large", [])
            if r.get("rss_imported_mb")
        ]
        base_logs = f"{med(imported):.0f} MB after imports, section 1" if imported else "not measured"
        out.append(LOGS_TEXT.format(**locals()))
        if res.get("log_diag"):
            out.append(logdiag.discussion(res["log_diag"]))
    if found and main is not found and (fa := [t for t in found if t["consumer"] == "faro"]):
        reconnects, lost = fa[0]["faro_counters"]["reconnects"], fa[0]["lost"]
        out.append(FOUND_TEXT.format(limit=limit, reconnects=reconnects, lost=lost))
    return "\n".join(out).rstrip("\n").splitlines()
