# Where the testbed keeps its build cache and its running cluster. Sourced, not run.
# The cache key is the set of versions, so changing versions.env forces a new build.
: "${FARO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/faro}"
FARO_TESTBED_KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
FARO_TESTBED_BIN="$FARO_CACHE/testbed/$FARO_TESTBED_KEY/bin"
FARO_TESTBED_SRC="$FARO_CACHE/testbed/$FARO_TESTBED_KEY/src"
: "${FARO_CLUSTER_NAME:=faro}"
# kwokctl keeps each cluster under $KWOK_WORKDIR/clusters/<name>.
: "${KWOK_WORKDIR:=$FARO_CACHE/kwok}"
FARO_KUBECONFIG="$KWOK_WORKDIR/clusters/$FARO_CLUSTER_NAME/kubeconfig.yaml"
export FARO_CACHE FARO_TESTBED_BIN FARO_TESTBED_SRC FARO_CLUSTER_NAME KWOK_WORKDIR FARO_KUBECONFIG
# Container log files that KWOK serves through pods/log (tests write them; see tests/harness).
FARO_TESTBED_LOGS="$KWOK_WORKDIR/clusters/$FARO_CLUSTER_NAME/faro-logs"
export FARO_TESTBED_LOGS
