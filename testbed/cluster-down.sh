#!/usr/bin/env bash
# Stop the local test cluster and remove its state (the build cache stays).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
source "$here/paths.sh"
if [ -x "$FARO_TESTBED_BIN/kwokctl" ]; then
  PATH="$FARO_TESTBED_BIN:$PATH" kwokctl delete cluster --name "$FARO_CLUSTER_NAME" >&2 || true
fi
echo "[testbed] cluster '$FARO_CLUSTER_NAME' stopped" >&2
