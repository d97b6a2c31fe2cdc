"""The in-cluster configuration path, as a pod sees it: no kubeconfig anywhere, the
KUBERNETES_SERVICE_HOST/PORT variables, and the ServiceAccount's token and CA at
/var/run/secrets/kubernetes.io/serviceaccount. The files are bind-mounted in a private mount
namespace of the Faro process alone (the host's /run is not touched)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml

from tests.cluster.test_deploy import faro_rbac
from tests.harness.cluster import LocalCluster
from tests.harness.manifests import bare_pod

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def test_capture_with_the_service_account_files_a_pod_sees(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    cluster.apply(
        list(
            yaml.safe_load_all(
                faro_rbac(cluster, "-r", "v1/Pod", "-n", namespace, "--sa-namespace", namespace)
            )
        )
    )
    secrets = tmp_path / "serviceaccount"
    secrets.mkdir()
    (secrets / "token").write_text(cluster.kubectl("create", "token", "faro", "-n", namespace).strip())
    kubeconfig = yaml.safe_load(cluster.kubeconfig.read_text())
    shutil.copy(kubeconfig["clusters"][0]["cluster"]["certificate-authority"], secrets / "ca.crt")
    (secrets / "namespace").write_text(namespace)
    server = urlparse(kubeconfig["clusters"][0]["cluster"]["server"])
    home, out = tmp_path / "home", tmp_path / "out"
    home.mkdir()
    cluster.apply([bare_pod("inside")], namespace)
    faro = [sys.executable, "-m", "faro", "-r", "v1/Pod", "-n", namespace, "-o", str(out)]
    faro += ["--duration", "12s", "--metrics-port", "0", "--log-format", "json"]
    script = f'mount -t tmpfs tmpfs /run && mkdir -p {SA_DIR} && mount --bind {secrets} {SA_DIR} && exec "$@"'
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),  # no ~/.kube/config
        "KUBERNETES_SERVICE_HOST": str(server.hostname),
        "KUBERNETES_SERVICE_PORT": str(server.port),
    }
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *faro],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    (story,) = (out / namespace).glob("pod-inside-*.json")
    doc = json.loads(story.read_text())
    assert doc["metadata"]["cluster"] == "in-cluster"
    assert doc["events"][0]["event_type"] == "RESOURCE_UPDATE"
    assert not (Path(SA_DIR) / "token").exists()  # the mount was the Faro process's alone
