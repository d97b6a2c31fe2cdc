#!/usr/bin/env bash
# Start (or reuse) the local test cluster: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and a KWOK controller, all on loopback, with Faro's KWOK stages and log
# serving (Logs/ClusterLogs CRDs) enabled. Prints `export KUBECONFIG=...` on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
source "$here/paths.sh"
log() { printf '[testbed] %s\n' "$*" >&2; }

"$here/build.sh"
export PATH="$FARO_TESTBED_BIN:$PATH"   # kwokctl wants kubectl on PATH; use ours

if "$here/cluster-status.sh"; then
  log "cluster '$FARO_CLUSTER_NAME' already running; reusing it"
else
  # A stale cluster dir (machine rebooted, processes gone) is removed before a fresh start.
  kwokctl delete cluster --name "$FARO_CLUSTER_NAME" >/dev/null 2>&1 || true
  start=$(date +%s)
  configs=()
  for f in "$here"/stages/*.yaml; do configs+=(--config "$f"); done
  log "starting cluster '$FARO_CLUSTER_NAME' (kubernetes $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
  kwokctl create cluster --name "$FARO_CLUSTER_NAME" --runtime binary \
    "${configs[@]}" \
    --kube-apiserver-binary "$FARO_TESTBED_BIN/kube-apiserver" \
    --kube-controller-manager-binary "$FARO_TESTBED_BIN/kube-controller-manager" \
    --kube-scheduler-binary "$FARO_TESTBED_BIN/kube-scheduler" \
    --kwok-controller-binary "$FARO_TESTBED_BIN/kwok" \
    --etcd-binary "$FARO_TESTBED_BIN/etcd" \
    --enable-crds Logs,ClusterLogs \
    --extra-args kube-apiserver=advertise-address=127.0.0.1 \
    --extra-args kube-scheduler=leader-elect=false \
    --extra-args kube-controller-manager=leader-elect=false \
    --kubeconfig "" \
    --wait 120s >&2
  kwokctl scale node --name "$FARO_CLUSTER_NAME" --replicas 2 >&2
  kubectl --kubeconfig "$FARO_KUBECONFIG" wait --for=condition=Ready node --all --timeout=60s >&2
  # Leader election is off: with one instance of each it only delays a restarted scheduler
  # and controller-manager until the previous instance's lease expires (~15 s).
  # The default ServiceAccount must exist before pods can be created in "default".
  for _ in $(seq 60); do
    kubectl --kubeconfig "$FARO_KUBECONFIG" -n default get serviceaccount default >/dev/null 2>&1 && break
    sleep 0.5
  done
  mkdir -p "$FARO_TESTBED_LOGS"
  log "cluster started in $(( $(date +%s) - start ))s"
fi
mkdir -p "$FARO_TESTBED_LOGS"
echo "export KUBECONFIG=$FARO_KUBECONFIG"
echo "export FARO_TESTBED_BIN=$FARO_TESTBED_BIN"
echo "export FARO_TESTBED_LOGS=$FARO_TESTBED_LOGS"
echo "export KWOK_WORKDIR=$KWOK_WORKDIR"
echo "export FARO_CLUSTER_NAME=$FARO_CLUSTER_NAME"
