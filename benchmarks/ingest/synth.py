"""Grow a real watch sample (record.py) into the ~100k-event recording the replay server serves.

Why: a realistic ingest benchmark needs ~100k watch events of realistic size, but making
100k real pod changes on a 2-core test cluster would take many minutes and disturb other
work. So the bulk is synthesized from the real sample: the whole sample (pods and core/v1
Events, already interleaved the way the apiserver sent them) is replayed K times, and each
copy gets fresh identities — every pod and Event uid, pod name (same generateName, a new
5-character suffix), Event name, a namespace among `bench-rec-0..9`, and a resourceVersion
that keeps both streams globally ordered. Pod names and uids are rewritten everywhere they
occur (Event involvedObject, "Created pod: …" messages), so Events still point at their pods.
Everything else (managedFields, statuses, timestamps) stays byte-for-byte as recorded.

The pods' owners are listed too, as a real apiserver would list them: a consumer that never
sees a pod's ReplicaSet must hold the pod until it appears (Faro does, for a while), which
no real cluster makes it do. The sample holds the owners only as references (the pods'
ownerReferences, the Events' involvedObject), so `lists/replicasets.json` and
`lists/deployments.json` are built from those: each owner's kind and name as referenced, a
fresh uid per copy (rewritten in the references too), the copy's namespace, and a
ReplicaSet owned by the Deployment whose name prefixes its own, as the deployment
controller names them.

Usage: python -m benchmarks.ingest.synth [--sample DIR] [--out DIR] [--total 100000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import uuid
from pathlib import Path

import orjson

from benchmarks.common.paths import CACHE

NAMESPACE = b"bench-rec"
RV_BASE = 1000
_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of apiserver-generated names


def _rv_key(rv: str) -> bytes:
    return b'"resourceVersion":"' + rv.encode() + b'"'


Refs = dict[str, dict[str, str]]  # owner uid -> its reference (kind, name, ...)


def referenced_owners(raw: dict[str, list[bytes]]) -> Refs:
    """The ReplicaSets and Deployments the pods and Events refer to."""
    found: Refs = {}
    for stream, field in (("pods", "ownerReferences"), ("events", "involvedObject")):
        for line in raw[stream]:
            obj = orjson.loads(line)["object"]
            refs = obj["metadata"].get(field, []) if field == "ownerReferences" else [obj[field]]
            for ref in refs:
                if ref.get("kind") in ("ReplicaSet", "Deployment"):
                    found[ref["uid"]] = ref
    return found


def templates(sample: Path) -> tuple[dict[str, list[list[bytes]]], dict[bytes, str], int, int, Refs]:
    """Split every sample line into literals and substitution keys.

    Returns (stream -> list of parts, key -> kind, min rv, max rv, owners); in a parts
    list, odd items are keys (uid, name, namespace or the own-resourceVersion field) and
    even items literal bytes.
    """
    raw = {s: (sample / f"{s}.jsonl").read_bytes().splitlines() for s in ("pods", "events")}
    owners = referenced_owners(raw)
    owner_keys = {u.encode() for u in owners}
    kinds: dict[bytes, str] = {NAMESPACE: "ns", **{u: "uid" for u in owner_keys}}
    pod_keys: set[bytes] = set()
    rvs: list[int] = []
    for stream, lines in raw.items():
        for line in lines:
            meta = orjson.loads(line)["object"]["metadata"]
            kinds[meta["uid"].encode()] = "uid"
            kinds[meta["name"].encode()] = "pod" if stream == "pods" else "event"
            rvs.append(int(meta["resourceVersion"]))
            if stream == "pods":
                pod_keys |= {meta["uid"].encode(), meta["name"].encode()}
    out: dict[str, list[list[bytes]]] = {}
    for stream, lines in raw.items():
        out[stream] = []
        for line in lines:
            meta = orjson.loads(line)["object"]["metadata"]
            rv = _rv_key(meta["resourceVersion"])
            kinds[rv] = "rv"
            keys = {NAMESPACE, rv, meta["uid"].encode(), meta["name"].encode()}
            if stream == "events":
                keys |= {k for k in pod_keys if k in line}
            keys |= {k for k in owner_keys if k in line}
            alternatives = b"|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
            rx = re.compile(b"(" + alternatives + b")")
            out[stream].append(rx.split(line))
    return out, kinds, min(rvs), max(rvs), owners


def copy_map(kinds: dict[bytes, str], k: int, rng: random.Random, offset: int) -> dict[bytes, bytes]:
    """The substitutions of copy k: fresh uids and names, a namespace, shifted RVs."""
    m: dict[bytes, bytes] = {NAMESPACE: NAMESPACE + b"-%d" % (k % 10)}
    for key, kind in kinds.items():
        if kind == "uid":
            m[key] = str(uuid.UUID(int=rng.getrandbits(128), version=4)).encode()
        elif kind == "pod":
            m[key] = key[:-5] + "".join(rng.choice(_SUFFIX) for _ in range(5)).encode()
        elif kind == "rv":
            old = int(key.split(b":")[1].strip(b'"'))
            m[key] = _rv_key(str(old + offset))
    for key, kind in kinds.items():
        if kind == "event":  # <involved object name>.<16 hex digits>
            head, _, _ = key.rpartition(b".")
            m[key] = m.get(head, head) + b".%016x" % rng.getrandbits(64)
    return m


def synthesize(sample: Path, out: Path, total: int, seed: int = 1) -> dict[str, object]:
    parts, kinds, lo, hi, refs = templates(sample)
    per_copy = sum(len(v) for v in parts.values())
    copies = max(1, round(total / per_copy))
    span = hi - lo + 1
    rng = random.Random(seed)
    maps = [copy_map(kinds, k, rng, RV_BASE - lo + k * span) for k in range(copies)]
    out.mkdir(parents=True, exist_ok=True)
    info: dict[str, object] = {"copies": copies, "sample": str(sample), "start_rv": RV_BASE - 1}
    for stream, lines in parts.items():
        size = 0
        with gzip.open(out / f"{stream}.jsonl.gz.tmp", "wb", compresslevel=3) as f:
            for m in maps:
                buf = []
                for p in lines:
                    line = b"".join(m[x] if i % 2 else x for i, x in enumerate(p)) + b"\n"
                    size += len(line)
                    buf.append(line)
                f.write(b"".join(buf))
        (out / f"{stream}.jsonl.gz.tmp").rename(out / f"{stream}.jsonl.gz")
        n = len(lines) * copies
        info[stream] = {"events": n, "sample_events": len(lines), "avg_bytes": round(size / n), "bytes": size}
        print(f"{stream}: {n} events ({len(lines)} real x {copies}), {size / n:.0f} bytes on average")
    shutil.copytree(sample / "discovery", out / "discovery", dirs_exist_ok=True)
    (out / "lists").mkdir(exist_ok=True)
    owners: dict[str, int] = {}
    for resource, items in owner_lists(refs, maps).items():
        (out / "lists" / f"{resource}.json").write_bytes(orjson.dumps(items))
        owners[resource] = len(items)
    info["owners"] = owners
    print(f"owners listed: {owners}")
    (out / "meta.json").write_text(json.dumps(info, indent=1))
    return info


def owner_lists(refs: Refs, maps: list[dict[bytes, bytes]]) -> dict[str, list[dict[str, object]]]:
    """LIST items of every copy's ReplicaSets and Deployments (see the docstring)."""
    deployments = {r["name"]: uid for uid, r in refs.items() if r["kind"] == "Deployment"}
    out: dict[str, list[dict[str, object]]] = {"replicasets": [], "deployments": []}
    for m in maps:
        for uid, ref in sorted(refs.items(), key=lambda kv: kv[1]["name"]):
            meta: dict[str, object] = {
                "name": ref["name"],
                "namespace": m[NAMESPACE].decode(),
                "uid": m[uid.encode()].decode(),
                "resourceVersion": str(RV_BASE - 1),
            }
            owner = ref["name"].rpartition("-")[0]
            if ref["kind"] == "ReplicaSet" and owner in deployments:
                owner_uid = m[deployments[owner].encode()].decode()
                meta["ownerReferences"] = [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": owner,
                        "uid": owner_uid,
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ]
            item = {"apiVersion": "apps/v1", "kind": ref["kind"], "metadata": meta}
            out["replicasets" if ref["kind"] == "ReplicaSet" else "deployments"].append(item)
    return out


def check(out: Path) -> None:
    """Sanity: unique (uid, rv) and increasing RVs per stream; Events point at known pods or
    listed owners; every pod's owners are listed."""
    listed = {
        o["metadata"]["uid"]
        for r in ("replicasets", "deployments")
        for o in orjson.loads((out / "lists" / f"{r}.json").read_bytes())
    }
    pod_uids: set[str] = set()
    for stream in ("pods", "events"):
        last = 0
        with gzip.open(out / f"{stream}.jsonl.gz") as f:
            for line in f:
                obj = orjson.loads(line)["object"]
                rv = int(obj["metadata"]["resourceVersion"])
                assert rv > last, f"{stream}: resourceVersion {rv} after {last}"
                last = rv
                if stream == "pods":
                    pod_uids.add(obj["metadata"]["uid"])
                    for ref in obj["metadata"].get("ownerReferences", []):
                        assert ref["uid"] in listed, "a pod's owner is not listed"
                elif obj["involvedObject"]["kind"] == "Pod":
                    assert obj["involvedObject"]["uid"] in pod_uids, "event about an unknown pod"
                else:
                    assert obj["involvedObject"]["uid"] in listed, "event about an unlisted owner"
    print(f"check: ok ({len(pod_uids)} distinct pods, {len(listed)} owners)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample", type=Path, default=CACHE / "sample")
    ap.add_argument("--out", type=Path, default=CACHE / "recording")
    ap.add_argument("--total", type=int, default=100_000)
    args = ap.parse_args()
    synthesize(args.sample, args.out, args.total)
    check(args.out)
