"""Keep secrets out of stories: Secret values, last-applied-configuration, credential-like env.

Stories are handed to people and to AI analysis, so the default is to never write a secret
value anywhere. Keys are kept (they explain *what* changed); values become their size.
"""

from __future__ import annotations

import re
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_CREDENTIAL = re.compile(r"(passw(or)?d|secret|token|api[_-]?key|credential|private[_-]?key|auth)", re.I)
_FLAG_CREDENTIAL = re.compile(r"^--?[\w.-]*(passw(or)?d|secret|token|api[_-]?key|credential)[\w.-]*$", re.I)
_ARG_CREDENTIAL = re.compile(
    r"^(--?[\w.-]*(passw(or)?d|secret|token|api[_-]?key|credential)[\w.-]*=)(.+)$", re.I
)


def _size(value: Any) -> str:
    return f"<redacted: {len(value.encode()) if isinstance(value, str) else 0} bytes>"


def strip_object(obj: dict[str, Any], redact: bool = True) -> dict[str, Any]:
    """A copy fit for a story: managedFields removed and, by default, secrets redacted.

    Copies only what it changes (shallow copies down the changed paths), since this runs
    for every object that enters a story.
    """
    meta = obj.get("metadata")
    out = dict(obj)
    if isinstance(meta, dict):
        m = dict(meta)
        m.pop("managedFields", None)
        ann = m.get("annotations")
        if redact and isinstance(ann, dict) and LAST_APPLIED in ann:
            m["annotations"] = {**ann, LAST_APPLIED: _size(ann[LAST_APPLIED])}
        out["metadata"] = m
    if not redact:
        return out
    if obj.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if isinstance(obj.get(key), dict):
                out[key] = {k: _size(v) for k, v in obj[key].items()}
    spec = obj.get("spec")
    if isinstance(spec, dict):
        out["spec"] = _redact_pod_spec(spec) if obj.get("kind") == "Pod" else _redact_templates(spec)
    return out


def _redact_templates(spec: dict[str, Any]) -> dict[str, Any]:
    """Pod templates of workloads: spec.template.spec, and a CronJob's
    spec.jobTemplate.spec.template.spec."""
    out = spec
    tpl = spec.get("template")
    if isinstance(tpl, dict) and isinstance(tpl.get("spec"), dict):
        out = {**out, "template": {**tpl, "spec": _redact_pod_spec(tpl["spec"])}}
    job = spec.get("jobTemplate")
    if isinstance(job, dict) and isinstance(job.get("spec"), dict):
        out = {**out, "jobTemplate": {**job, "spec": _redact_templates(job["spec"])}}
    return out


def _redact_pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    out = dict(spec)
    for field in ("containers", "initContainers", "ephemeralContainers"):
        cs = spec.get(field)
        if isinstance(cs, list):
            out[field] = [_redact_container(c) if isinstance(c, dict) else c for c in cs]
    return out


def _redact_container(c: dict[str, Any]) -> dict[str, Any]:
    out = dict(c)
    env = c.get("env")
    if isinstance(env, list):
        out["env"] = [
            {**e, "value": _size(e["value"])}
            if isinstance(e, dict)
            and isinstance(e.get("value"), str)
            and _CREDENTIAL.search(str(e.get("name", "")))
            else e
            for e in env
        ]
    for field in ("args", "command"):
        args = c.get(field)
        if isinstance(args, list):
            out[field] = _redact_args(args)
    return out


def _redact_args(args: list[Any]) -> list[Any]:
    """`--password=x` and `--password x` both lose x."""
    out: list[Any] = []
    secret_next = False
    for a in args:
        if not isinstance(a, str):
            out.append(a)
            secret_next = False
            continue
        if secret_next:
            out.append(_size(a))
            secret_next = False
            continue
        m = _ARG_CREDENTIAL.match(a)
        if m:
            out.append(f"{m.group(1)}{_size(m.group(4))}")
        else:
            out.append(a)
            secret_next = bool(_FLAG_CREDENTIAL.match(a))
    return out
