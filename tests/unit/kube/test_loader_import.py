"""faro.kube.loader_import: Faro loads kubernetes_asyncio's kubeconfig loader without its generated
models, and anyone else in the process still gets the whole library."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any


def _run(code: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.splitlines()[-1])


_COUNT = """
def count(prefix):
    return sum(1 for m in sys.modules if m.startswith(prefix))
"""


def test_faro_does_not_import_the_generated_models_or_apis() -> None:
    r = _run(
        "import sys, json\n"
        + _COUNT
        + """
import faro.kube.client
import faro.kube.kubeconfig as c
print(json.dumps({
    "models": count("kubernetes_asyncio.client.models."),
    "apis": count("kubernetes_asyncio.client.api."),
    "loader": c.k8s_config.load_kube_config.__module__,
    "api_client": c.k8s_client.ApiClient.__module__,
}))
"""
    )
    assert r == {
        "models": 0,
        "apis": 0,
        "loader": "kubernetes_asyncio.config.kube_config",
        "api_client": "kubernetes_asyncio.client.api_client",
    }


def test_the_whole_library_is_still_there_for_anyone_who_asks() -> None:
    r = _run(
        "import sys, json, asyncio\n"
        + _COUNT
        + """
import faro.kube.client
from kubernetes_asyncio import client, watch, dynamic, utils
import kubernetes_asyncio
from kubernetes_asyncio.client.models import V1Pod

class Response:
    data = json.dumps({"metadata": {"name": "web-0"}, "spec": {"containers": [{"name": "app"}]}})

async def deserialize():
    async with client.ApiClient() as api:
        return api.deserialize(Response(), "V1Pod")

pod = asyncio.run(deserialize())
print(json.dumps({
    "pod": pod.metadata.name, "container": pod.spec.containers[0].name,
    "same_class": type(pod) is V1Pod and client.V1Pod is V1Pod,
    "core": client.CoreV1Api.__name__, "watch": watch.Watch.__name__,
    "dynamic": dynamic.DynamicClient.__name__, "version": kubernetes_asyncio.__version__,
    "models": count("kubernetes_asyncio.client.models."),
}))
"""
    )
    assert r.pop("version")
    plain = _run(
        "import sys, json\n" + _COUNT + "import kubernetes_asyncio\n"
        'print(json.dumps(count("kubernetes_asyncio.client.models.")))'
    )
    assert r == {
        "pod": "web-0",
        "container": "app",
        "same_class": True,
        "core": "CoreV1Api",
        "watch": "Watch",
        "dynamic": "DynamicClient",
        "models": plain,  # every model a plain import loads
    }


def test_a_library_imported_before_faro_is_used_as_it_is() -> None:
    r = _run(
        "import sys, json\n"
        + _COUNT
        + """
import kubernetes_asyncio.client as first
import faro.kube.client as c
print(json.dumps({"same": c.k8s_client is first, "lazy": "__getattr__" in vars(first)}))
"""
    )
    assert r == {"same": True, "lazy": False}


def test_an_unexpected_layout_falls_back_to_the_plain_import() -> None:
    r = _run(
        "import sys, json\n"
        + _COUNT
        + """
import faro.kube.loader_import as lean
class NoModels(lean.PathFinder):  # as if a release had moved the models
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        return None if name.endswith(".models") else super().find_spec(name, path, target)
lean.PathFinder = NoModels
import faro.kube.client as c
print(json.dumps({"core": c.k8s_client.CoreV1Api.__name__, "lazy": "__getattr__" in vars(c.k8s_client)}))
"""
    )
    assert r == {"core": "CoreV1Api", "lazy": False}
