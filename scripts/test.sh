#!/usr/bin/env bash
# Runs the whole test suite, after installing what it needs on a Debian
# machine with Go: the Go modules, Node.js and the npm packages of the
# JavaScript interop tests, and tinyproxy for the HTTP CONNECT proxy tests.
# The interop tests do not skip here: a missing tool fails them.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	as_root apt-get update -q
	as_root apt-get install -y -q nodejs npm
fi
if ! command -v tinyproxy >/dev/null; then
	as_root apt-get update -q
	as_root apt-get install -y -q tinyproxy
fi

echo "--- go modules"
go mod download
(cd examples && go mod download)
echo "--- npm packages (interop/js)"
npm ci --prefix interop/js --no-audit --no-fund --loglevel=error

echo "--- gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi
go vet ./...
(cd examples && go vet ./...)

echo "--- go test -race"
MULTISERVER_INTEROP=1 go test -race -count=1 -timeout 15m ./...
echo "--- go test -race (examples)"
(cd examples && go test -race -count=1 -timeout 5m ./...)
