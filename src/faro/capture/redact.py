"""Keep secrets out of stories: Secret values, last-applied-configuration, credential-like env.

Stories are handed to people and to AI analysis, so the default is to never write a secret
value anywhere. Keys are kept (they explain *what* changed); values become their size.
"""

from __future__ import annotations

import re
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_CREDENTIAL = re.compile(r"(passw(or)?d|secret|token|api[_-]?key|credential|private[_-]?key|auth)", re.I)
_ARG_CREDENTIAL = re.compile(
    r"^(--?[\w.-]*(passw(or)?d|secret|token|api[_-]?key|credential)[\w.-]*=)(.+)$", re.I
)


def _size(value: Any) -> str:
    return f"<redacted: {len(value) if isinstance(value, str) else 0} bytes>"


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
        if obj.get("kind") == "Pod":
            out["spec"] = _redact_pod_spec(spec)
        elif isinstance(spec.get("template"), dict) and isinstance(spec["template"].get("spec"), dict):
            tpl = dict(spec["template"])
            tpl["spec"] = _redact_pod_spec(spec["template"]["spec"])
            out["spec"] = {**spec, "template": tpl}
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
            out[field] = [_redact_arg(a) if isinstance(a, str) else a for a in args]
    return out


def _redact_arg(arg: str) -> str:
    m = _ARG_CREDENTIAL.match(arg)
    return f"{m.group(1)}{_size(m.group(4))}" if m else arg
