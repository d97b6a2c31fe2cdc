#!/usr/bin/env bash
# Exit 0 when the local test cluster answers /readyz, 1 otherwise.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
source "$here/paths.sh"
[ -x "$FARO_TESTBED_BIN/kubectl" ] && [ -f "$FARO_KUBECONFIG" ] || exit 1
"$FARO_TESTBED_BIN/kubectl" --kubeconfig "$FARO_KUBECONFIG" --request-timeout=5s get --raw=/readyz >/dev/null 2>&1
