#!/usr/bin/env bash
# Prints the repository's Go modules, one directory a line ("." first), and
# fails if go.work does not use one of them. ./... stops at a nested
# module, even in workspace mode, so lint and tests run once per module
# from this list: a module that is neither here nor in go.work would
# silently go unchecked.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
GO=${GO:-go}
found=$(find . -name go.mod -not -path './.git/*' -not -path '*/testdata/*' -printf '%h\n' | sort)
used=$(env -u GOWORK "$GO" list -m -f '{{.Dir}}' | sed "s#^$root\$#.#; s#^$root/#./#" | sort)
missing=$(comm -23 <(echo "$found") <(echo "$used"))
if [ -n "$missing" ]; then
	echo "go.work does not use these modules (go work use DIR):" $missing >&2
	exit 1
fi
echo "$found"
