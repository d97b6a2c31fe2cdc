"""Errors from the API server, reduced to what callers decide on.

Callers branch on the HTTP status (410 means relist, 403 means report and retry later,
429 means back off without relisting), so the status is the heart of the error type.
"""

from __future__ import annotations

from typing import Any

import orjson


class KubeError(Exception):
    """A problem talking to the cluster that is not a specific HTTP status."""


class ConfigError(KubeError):
    """Kubeconfig or in-cluster configuration is missing or invalid."""


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
