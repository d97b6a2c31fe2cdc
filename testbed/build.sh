#!/usr/bin/env bash
# Build the test cluster's binaries from their Go modules into a version-keyed cache
# outside the repository. A second run finds them and returns at once.
#
# Why a throwaway module per component: `go install pkg@version` refuses modules with
# replace directives (k8s.io/kubernetes has ~30 of them pointing at ./staging), so we
# make a consumer module, mirror the staging replaces onto the published v0.X.Y tags,
# and `go build` the commands from there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
source "$here/paths.sh"

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
mkdir -p "$FARO_TESTBED_BIN" "$FARO_TESTBED_SRC"
log() { printf '[testbed build] %s\n' "$*" >&2; }

have() { for b in "$@"; do [ -x "$FARO_TESTBED_BIN/$b" ] || return 1; done; }

build_kubernetes() {
  have kube-apiserver kube-controller-manager kube-scheduler kubectl && return 0
  local dir="$FARO_TESTBED_SRC/kubernetes" v="$K8S_VERSION"
  local minor="${v#v1.}"; minor="${minor%%.*}"
  local staging_v="v0.${v#v1.}"
  log "kubernetes $v (staging modules at $staging_v)"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init faro.local/testbed-kubernetes >/dev/null 2>&1
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  # Every `k8s.io/x => ./staging/src/k8s.io/x` becomes `k8s.io/x => k8s.io/x v0.N.P`.
  sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/src/.*#\1#p' "$gomod" | while read -r m; do
    go mod edit -replace "$m=$m@$staging_v"
  done
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$v" "k8s.io/kubernetes/cmd/kube-controller-manager@$v" \
         "k8s.io/kubernetes/cmd/kube-scheduler@$v" "k8s.io/kubernetes/cmd/kubectl@$v" >&2
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    log "go build $c"
    go build -trimpath -ldflags "$ld" -o "$FARO_TESTBED_BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c"
    mv "$FARO_TESTBED_BIN/$c.tmp" "$FARO_TESTBED_BIN/$c"
  done
}

build_etcd() {
  have etcd && return 0
  local dir="$FARO_TESTBED_SRC/etcd"
  log "etcd $ETCD_VERSION"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init faro.local/testbed-etcd >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  go build -trimpath -ldflags "-s -w" -o "$FARO_TESTBED_BIN/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$FARO_TESTBED_BIN/etcd.tmp" "$FARO_TESTBED_BIN/etcd"
}

build_kwok() {
  have kwok kwokctl && return 0
  local dir="$FARO_TESTBED_SRC/kwok"
  log "kwok $KWOK_VERSION"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init faro.local/testbed-kwok >/dev/null 2>&1
  go get "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION" >&2
  local ld="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
  for c in kwok kwokctl; do
    log "go build $c"
    go build -trimpath -ldflags "$ld" -o "$FARO_TESTBED_BIN/$c.tmp" "sigs.k8s.io/kwok/cmd/$c"
    mv "$FARO_TESTBED_BIN/$c.tmp" "$FARO_TESTBED_BIN/$c"
  done
}

start=$(date +%s)
build_etcd
build_kwok
build_kubernetes
log "binaries ready in $FARO_TESTBED_BIN ($(( $(date +%s) - start ))s)"
