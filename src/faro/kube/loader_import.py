"""Import kubernetes_asyncio's kubeconfig loader without its 1,500 generated models.

Why: Faro uses kubernetes_asyncio for what must not be hand-written (kubeconfig, contexts,
exec plugins, OIDC, in-cluster tokens) and its ApiClient as a raw session; it never builds a
model. But `import kubernetes_asyncio.config` runs the package's __init__, which imports every
generated API and model: tens of MB of RSS, a large share of what Faro uses among 10,000
pods of no story (measured in docs/benchmarks-scale-logs.md).

So kubernetes_asyncio.client and .client.models are put in sys.modules as created-but-not-yet-
run packages (PEP 451 specs, real __path__) holding only what the loader takes from them
(Configuration, ApiClient); then the top package's own __init__ runs and finds them there.
Nothing is lost for anyone else: the first access to any other attribute of either
(`kubernetes_asyncio.client.CoreV1Api`, a model the ApiClient deserializes) runs that
package's own __init__ then, as a plain import would have (PEP 562 module __getattr__). If
kubernetes_asyncio is already imported, or its layout is not what this expects, the plain
import is used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType
from typing import Any

_TOP = "kubernetes_asyncio"


def import_kubernetes_asyncio() -> tuple[ModuleType, ModuleType]:
    """(kubernetes_asyncio.client, kubernetes_asyncio.config), the models left unimported."""
    if not any(name == _TOP or name.startswith(f"{_TOP}.") for name in sys.modules):
        try:
            _install_shells()
        except Exception:  # an unexpected layout: forget what was loaded, import as usual
            for name in [n for n in sys.modules if n == _TOP or n.startswith(f"{_TOP}.")]:
                del sys.modules[name]
    client = importlib.import_module(f"{_TOP}.client")
    config = importlib.import_module(f"{_TOP}.config")
    return client, config


def _install_shells() -> None:
    top_spec = importlib.util.find_spec(_TOP)
    if top_spec is None or top_spec.loader is None:
        raise ImportError(_TOP)
    top = importlib.util.module_from_spec(top_spec)
    sys.modules[_TOP] = top
    client = _shell(f"{_TOP}.client", top_spec)
    models = _shell(f"{_TOP}.client.models", client.__spec__)
    setattr(top, "client", client)  # noqa: B010 (what the import system would have set)
    setattr(client, "models", models)  # noqa: B010
    # what the kubeconfig loader takes from the client package, before anything asks for it
    for module, attr in (("configuration", "Configuration"), ("api_client", "ApiClient")):
        setattr(client, attr, getattr(importlib.import_module(f"{_TOP}.client.{module}"), attr))
    top_spec.loader.exec_module(top)  # its own __init__: config, watch, dynamic... find the shells


def _shell(name: str, parent: ModuleSpec | None) -> ModuleType:
    """A package module that runs its own __init__ the first time it is asked for something
    it does not have yet."""
    # Found in the parent's folder directly: importlib.util.find_spec would import the parent.
    where = parent.submodule_search_locations if parent is not None else None
    spec = PathFinder.find_spec(name, where)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError(name)
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def __getattr__(attr: str) -> Any:
        if PathFinder.find_spec(f"{name}.{attr}", spec.submodule_search_locations) is not None:
            # `from package import submodule` asks the package first: only the submodule loads
            return importlib.import_module(f"{name}.{attr}")
        module.__dict__.pop("__getattr__", None)  # once: the real module answers from now on
        loader.exec_module(module)
        return getattr(module, attr)

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = module
    return module
