"""One exception tree for everything Faro raises on purpose (httpx-style).

    FaroError
    ├── ConfigError            bad input: config, flags, regexes, kubeconfig (exit code 2)
    │   └── UnknownResourceError   a resource name the cluster does not serve
    ├── KubeError              talking to the cluster failed (exit code 1)
    │   └── ApiError           the API server answered with an error status
    └── OutputError            the output could not be written (exit code 1)

Why one tree: callers (the CLI, a program using the library) decide on the kind of failure
— the user's input, the cluster, the disk — and catch one class per decision; nothing
translates one error into another on the way up. Every message is one line meant for the
user. Callers of the kube layer branch on ApiError.status (410 means relist, 403 report and
retry later, 429 back off without relisting), so the status is the heart of that type.
"""

from __future__ import annotations

from typing import Any

import orjson


class FaroError(Exception):
    """Anything Faro raises on purpose."""


class ConfigError(FaroError, ValueError):
    """Invalid input: a config, a flag, a regex, a kubeconfig or in-cluster configuration."""


class UnknownResourceError(ConfigError):
    """A resource name that matches nothing the cluster serves (with the closest matches)."""


class KubeError(FaroError):
    """A problem talking to the cluster that is not a specific HTTP status."""


class ApiError(KubeError):
    """The API server answered with a non-2xx status (or an in-stream ERROR Status)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.message = message

    @classmethod
    def from_status_object(cls, obj: dict[str, Any]) -> ApiError:
        """Build from a metav1.Status (the body of errors and of watch ERROR events)."""
        return cls(int(obj.get("code") or 0), str(obj.get("reason") or ""), str(obj.get("message") or ""))

    @classmethod
    def from_body(cls, status: int, body: bytes) -> ApiError:
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            return cls(status, "", body[:300].decode("utf-8", "replace").strip())
        if isinstance(obj, dict) and obj.get("kind") == "Status":
            err = cls.from_status_object(obj)
            err.status = err.status or status
            return err
        return cls(status, "", "")


class OutputError(FaroError):
    """Faro could not write its output (a full disk, a directory removed or made read-only
    while it ran)."""

    @classmethod
    def of(cls, exc: OSError) -> OutputError:
        where = f" {exc.filename}" if exc.filename else ""
        return cls(f"cannot write{where}: {exc.strerror or exc}")
