#!/usr/bin/env bash
# Runs the whole test suite, after installing what it needs on a Debian
# machine with Go: the Go modules; Node.js and the npm packages of the
# JavaScript interop tests; tinyproxy for the HTTP CONNECT proxy tests;
# squid for the proxy lab (ws, sse and poll through it); Chromium for the
# browser test; iproute2 and iptables for the tests that
# build a network lab in network namespaces (those need root).
# The interop tests do not skip here: a missing tool fails them.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v tinyproxy >/dev/null || missing+=(tinyproxy)
# Debian puts squid in /usr/sbin, on root's PATH but not always a user's.
command -v squid >/dev/null || [ -x /usr/sbin/squid ] || missing+=(squid)
command -v chromium >/dev/null || missing+=(chromium)
command -v ip >/dev/null || missing+=(iproute2)
command -v iptables >/dev/null || missing+=(iptables)
command -v tc >/dev/null || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
	echo "--- apt-get install ${missing[*]}"
	as_root apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "--- go modules"
go mod download
(cd examples && go mod download)
(cd bench && go mod download)
echo "--- npm packages (interop/js)"
npm ci --prefix interop/js --no-audit --no-fund --loglevel=error
echo "--- npm packages (interop/ssbroom)"
npm ci --prefix interop/ssbroom --no-audit --no-fund --loglevel=error
echo "--- npm packages (interop/hyperswarm)"
npm ci --prefix interop/hyperswarm --no-audit --no-fund --loglevel=error

echo "--- gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi
go vet ./...
(cd examples && go vet ./... && GOOS=js GOARCH=wasm go vet ./browser/client/)
(cd bench && go vet ./...)

echo "--- go test -race"
MULTISERVER_INTEROP=1 go test -race -count=1 -timeout 15m -skip '^TestNATLab' ./...
# The NAT lab checks how soon paths go direct and fall back, in wall-clock
# time: it runs alone, not beside every other package on a small machine.
echo "--- go test -race (the NAT lab, alone)"
MULTISERVER_INTEROP=1 go test -race -count=1 -timeout 10m -run '^TestNATLab' ./plugs/relay/
echo "--- go test (1,000 relayed pairs at once, without the race detector's cost)"
go test -count=1 -run 'TestThousandPairs' ./plugs/relay/
echo "--- go test -tags purego (secretbox's and secretstream's Go references, x/crypto without assembly)"
go test -tags purego -count=1 ./internal/secretbox ./internal/secretstream ./transforms/shs
echo "--- go test with AVX-512 off (secretbox's Go references on this CPU)"
GODEBUG=cpu.avx512f=off go test -count=1 ./internal/secretbox ./transforms/shs
echo "--- go test -race (examples)"
(cd examples && MULTISERVER_INTEROP=1 go test -race -count=1 -timeout 5m ./...)
echo "--- go test (bench, a quick run of the suite)"
(cd bench && go test -count=1 -timeout 5m ./...)
