"""Credentials the way kubectl finds them: --kubeconfig, $KUBECONFIG, ~/.kube/config, then
the in-cluster service account.

kubernetes_asyncio does what must not be hand-written (kubeconfig parsing, contexts, client
certificates, exec plugins, OIDC, in-cluster tokens); this module only chooses the source,
starts the token refresh the async client does not do by itself, and turns every way a
kubeconfig can be wrong into one ConfigError line that names the file (never a token).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from faro.errors import ConfigError
from faro.kube.loader_import import import_kubernetes_asyncio

k8s_client, k8s_config = import_kubernetes_asyncio()
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


@dataclass
class Credentials:
    configuration: Any  # kubernetes_asyncio's Configuration: host, TLS, token or client cert
    context: str | None  # the context used ("in-cluster" for the service account)
    refresh: asyncio.Task[None] | None  # exec/GCP token refresh, to cancel when done


async def load(kubeconfig: str | None, context: str | None) -> Credentials:
    """Raises ConfigError with a one-line reason."""
    cfg = k8s_client.Configuration()
    explicit = kubeconfig or os.environ.get("KUBECONFIG")
    default_file = Path(k8s_config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION).expanduser()
    try:
        if not explicit and not default_file.exists() and _in_cluster():
            k8s_config.load_incluster_config(client_configuration=cfg)
            creds = Credentials(cfg, context or "in-cluster", None)
        else:
            _check_files(kubeconfig, explicit, default_file)
            creds = await _load_file(cfg, kubeconfig, context)
    except ConfigError:
        raise
    except Exception as exc:
        raise _reason(exc, kubeconfig, context) from None
    if any(_CONTROL.search(str(v)) for v in (cfg.api_key or {}).values()):
        # aiohttp would refuse the header at the first request, with a traceback
        raise ConfigError(f"invalid kubeconfig {_where(kubeconfig)}: the user's token contains a line break")
    return creds


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and _IN_CLUSTER_TOKEN.exists()


def _check_files(kubeconfig: str | None, explicit: str | None, default_file: Path) -> None:
    """The file(s) kubectl would read exist: say which is missing before the loader does."""
    if kubeconfig and not Path(kubeconfig).exists():
        raise ConfigError(f"kubeconfig {kubeconfig!r} does not exist")
    if not explicit and not default_file.exists():
        raise ConfigError(
            f"no kubeconfig: {default_file} does not exist, $KUBECONFIG is not set and "
            "Faro is not running in a pod (give --kubeconfig)"
        )
    env = os.environ.get("KUBECONFIG") or ""
    named = [p for p in env.split(os.pathsep) if p]
    if not kubeconfig and named and not any(Path(p).expanduser().exists() for p in named):
        raise ConfigError(f"kubeconfig {env!r} (from $KUBECONFIG) does not exist")


async def _load_file(cfg: Any, kubeconfig: str | None, context: str | None) -> Credentials:
    with _quiet("kubernetes_asyncio.config"):  # it logs what it raises: one line is ours
        loader = await k8s_config.load_kube_config(
            config_file=kubeconfig or None, context=context, client_configuration=cfg, persist_config=False
        )
    current: Any = loader.current_context
    user: Any = loader._user
    refresh = None
    if (user is not None and "exec" in user) or loader.provider == "gcp":
        # The async client never refreshes exec/GCP tokens by itself.
        refresh = asyncio.create_task(k8s_config.refresh_token(loader, cfg), name="faro-token-refresh")
    return Credentials(cfg, context or (current or {}).get("name"), refresh)


def _reason(exc: Exception, kubeconfig: str | None, context: str | None) -> ConfigError:
    """One line for each way loading a kubeconfig fails."""
    where = _where(kubeconfig)
    if isinstance(exc, k8s_config.ConfigException):
        if context and _missing_context(kubeconfig, context):
            return ConfigError(f"context {context!r} does not exist in kubeconfig {where}")
        if str(exc).startswith("exec:"):  # the file is fine; its credential plugin failed
            return ConfigError(f"the kubeconfig's exec credential plugin failed: {exc}")
        return ConfigError(f"invalid kubeconfig: {exc}")
    if isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        return ConfigError(f"invalid kubeconfig {where}: not valid YAML{at}")
    if isinstance(exc, KeyError):
        return ConfigError(f"invalid kubeconfig {where}: missing {exc}")
    if isinstance(exc, AttributeError | TypeError):
        expected = "expected a mapping with clusters, contexts and users"
        return ConfigError(f"invalid kubeconfig {where}: not a kubeconfig ({expected})")
    if isinstance(exc, OSError | ValueError):
        return ConfigError(f"invalid kubeconfig: {exc}")
    raise exc


def _where(kubeconfig: str | None) -> str:
    """The kubeconfig file(s) kubectl would read, for messages."""
    return repr(kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config")


def _missing_context(kubeconfig: str | None, context: str) -> bool:
    """Whether the kubeconfig reads well and has no such context (only to word an error)."""
    try:
        contexts, _ = k8s_config.list_kube_config_contexts(config_file=kubeconfig)
    except Exception:  # the original error stands
        return False
    return context not in [c.get("name") for c in contexts if isinstance(c, dict)]


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Silence a library logger for a block whose errors Faro reports itself."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
