#!/usr/bin/env bash
# Runs the test suite in tiers and says how many tests ran on which.
# Each tier runs in every module (scripts/modules.sh), from the module's
# directory and on its own go.mod (GOWORK=off): ./... does not reach into a
# nested module, even in workspace mode.
#   scripts/test.sh fast   unit tests and the kfake tier (every package of
#                          every module), the status page in headless
#                          chromium (installed with apt-get when missing)
#   scripts/test.sh all    the same, the Kubernetes example's schema check,
#                          then the integration tests again on a real Kafka
#                          broker (twice: classic, then KIP-848's consumer
#                          group protocol), the TLS tests on a broker with TLS and
#                          SASL_SSL listeners, and the failover tests on a
#                          3-node cluster, all started by scripts/kafka and
#                          always
#                          stopped
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
GO=${GO:-go}

# tier NAME MODULE ARGS...: go test -race -v in MODULE's directory, on its
# own go.mod, with the verdict lines kept and counted.
tier() {
	local name=$1 mod=$2; shift 2
	local log="$logdir/$name-${mod//\//_}.log" rc=0
	echo "== tier $name, module $mod: go test -race $*" >&2
	(cd "$mod" && GOWORK=off "$GO" test -race -count=1 -timeout 20m -v "$@") >"$log" 2>&1 || rc=$?
	grep -E '^(ok|FAIL|---|panic:|\s+--- FAIL)|^\s+\S+_test\.go:[0-9]+:' "$log" | grep -v -- '--- PASS' | grep -v -- '--- SKIP' >&2 || true
	local pass fail skip
	pass=$(grep -cE '^\s*--- PASS' "$log" || true)
	fail=$(grep -cE '^\s*--- FAIL' "$log" || true)
	skip=$(grep -cE '^\s*--- SKIP' "$log" || true)
	echo "tier $name, module $mod: $pass passed, $fail failed, $skip skipped" >&2
	total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail)); total_skip=$((total_skip + skip))
	if [ $rc -ne 0 ]; then
		tail -n 60 "$log" >&2
		failed=1
	fi
}

# module DIR: the module DIR belongs to, the nearest directory up with a
# go.mod.
module() {
	local d=$1
	until [ -f "$d/go.mod" ]; do d=$(dirname "$d"); done
	echo "$d"
}

# tier_packages NAME ARGS...: the tier in every module that holds one of
# pkgs, on those packages only.
tier_packages() {
	local name=$1; shift
	local mod p
	for mod in "${modules[@]}"; do
		local mine=()
		for p in "${pkgs[@]}"; do
			[ "$(module "$p")" = "$mod" ] || continue
			if [ "$p" = "$mod" ]; then mine+=(.); else mine+=("./${p#"$mod"/}"); fi
		done
		if [ ${#mine[@]} -gt 0 ]; then tier "$name" "$mod" "$@" "${mine[@]}"; fi
	done
}

# The status page's tests drive Debian's chromium (headless, through
# chromedp): install it when it is missing and we may (root, apt-get);
# where it cannot be installed those tests skip and say so.
ensure_chromium() {
	command -v chromium >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "== installing chromium (apt-get) for the status page's browser tests" >&2
		if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$logdir/chromium-install.log" 2>&1; then
			return 0
		fi
		tail -n 20 "$logdir/chromium-install.log" >&2
	fi
	echo "chromium is not installed and could not be: the browser tests of cmd/kafkaworker/internal/admin will skip" >&2
}

total_pass=0 total_fail=0 total_skip=0 failed=0
unset KAFKA_BOOTSTRAP_SERVERS KAFKA_TLS_DIR KAFKA_GROUP_PROTOCOL
ensure_chromium
mapfile -t modules < <(scripts/modules.sh)
[ ${#modules[@]} -gt 0 ] || { echo "no modules: scripts/modules.sh failed" >&2; exit 1; }
for mod in "${modules[@]}"; do
	tier unit+kfake "$mod" ./...
done

if [ "$mode" = all ]; then
	# The Kubernetes example against Kubernetes' schemas, offline, by
	# kubernetes-validate (PyPI, pinned, in a venv kept in the cache); its
	# module's decoding tests ran in the unit tier, this one skips there.
	kv_version=1.37.0
	kv_venv=${XDG_CACHE_HOME:-$HOME/.cache}/kafkaworker/kubernetes-validate-$kv_version
	if [ ! -x "$kv_venv/bin/kubernetes-validate" ]; then
		echo "== installing kubernetes-validate $kv_version into $kv_venv" >&2
		rm -rf "$kv_venv"
		if ! { python3 -m venv "$kv_venv" && "$kv_venv/bin/pip" install -q "kubernetes-validate==$kv_version"; } >"$logdir/kv-install.log" 2>&1; then
			tail -n 20 "$logdir/kv-install.log" >&2
			echo "could not install kubernetes-validate: the schema test will fail" >&2
			rm -rf "$kv_venv"
		fi
	fi
	KUBERNETES_VALIDATE=$kv_venv/bin/kubernetes-validate tier manifests examples/kubernetes ./...

	# The packages whose tests take a cluster from internal/testkafka, in
	# whichever module.
	mapfile -t pkgs < <(grep -rl --include='*_test.go' 'internal/testkafka"' . | xargs -n1 dirname | sort -u)
	echo "packages on the broker tiers: ${pkgs[*]}" >&2
	started=$(date +%s)
	if bootstrap=$(scripts/kafka/kafka.sh start); then
		echo "real broker at $bootstrap, up in $(($(date +%s) - started))s" >&2
		trap 'scripts/kafka/kafka.sh stop >&2 || true; rm -rf "$logdir"' EXIT
		KAFKA_BOOTSTRAP_SERVERS=$bootstrap tier_packages kafka -p 1
		# Once more with KIP-848's consumer group protocol (GroupProtocol
		# consumer); TestGroupProtocolIsTheOneConfigured checks that the
		# broker really runs a consumer group, not classic.
		KAFKA_GROUP_PROTOCOL=consumer KAFKA_BOOTSTRAP_SERVERS=$bootstrap tier_packages kafka-consumer-protocol -p 1
		scripts/kafka/kafka.sh stop >&2
	else
		echo "could not start the real broker: the kafka tier did not run" >&2
		failed=1
	fi

	# TLS: one broker with SSL, mutual-TLS and SASL_SSL (SCRAM-SHA-512)
	# listeners, and ones presenting an expired and a wrong-host certificate
	# (ports 9692-9697, controller 19693), on certificates and credentials
	# internal/testtls makes now; a state dir of its own.
	tls_state=${TMPDIR:-/tmp}/kafkaworker-kafka-tls
	tls_dir=$logdir/tls
	started=$(date +%s)
	if "$GO" run ./internal/testtls/gencerts "$tls_dir" &&
		KAFKA_STATE_DIR=$tls_state scripts/kafka/kafka.sh start --port 9692 --tls "$tls_dir" >/dev/null; then
		echo "TLS broker up in $(($(date +%s) - started))s" >&2
		trap 'KAFKA_STATE_DIR=$tls_state scripts/kafka/kafka.sh stop >&2 || true; rm -rf "$logdir"' EXIT
		KAFKA_TLS_DIR=$tls_dir tier tls . -p 1 ./internal/testtls
	else
		echo "could not start the TLS broker: the tls tier did not run" >&2
		failed=1
	fi
	KAFKA_STATE_DIR=$tls_state scripts/kafka/kafka.sh stop >&2 || true
	trap 'rm -rf "$logdir"' EXIT

	# Failover on three nodes, on ports and a state dir of their own. Its
	# tests stop and restart one node through the same script.
	export KAFKA_STATE_DIR=${TMPDIR:-/tmp}/kafkaworker-kafka3
	started=$(date +%s)
	if bootstrap3=$(scripts/kafka/kafka.sh start --nodes 3 --port 9192); then
		echo "3-node cluster at $bootstrap3, up in $(($(date +%s) - started))s" >&2
		trap 'scripts/kafka/kafka.sh stop >&2 || true; rm -rf "$logdir"' EXIT
		KAFKA_CLUSTER3_BOOTSTRAP=$bootstrap3 KAFKA_CLUSTER3_STATE_DIR=$KAFKA_STATE_DIR \
			tier_packages kafka-3-nodes -p 1 -run 'Failover'
	else
		echo "could not start the 3-node cluster: the failover tier did not run" >&2
		failed=1
	fi
	scripts/kafka/kafka.sh stop >&2 || true

	# Chaos, short: kafkaworker processes under kills, SIGSTOPs, member
	# changes and broker restarts on a 3-node cluster of its own (ports
	# 9292-9294, started and stopped by the harness). A fixed seed keeps the
	# fault schedule replayable; CHAOS_SEED picks another.
	echo "== chaos (short): make chaos-short CHAOS_FLAGS='-seed ${CHAOS_SEED:-1001}'" >&2
	if (cd chaos && "$GO" run . -short -seed "${CHAOS_SEED:-1001}") >"$logdir/chaos.log" 2>&1; then
		total_pass=$((total_pass + 1))
	else
		total_fail=$((total_fail + 1)) failed=1
		tail -n 40 "$logdir/chaos.log" >&2
	fi
	grep -E '^lost=' "$logdir/chaos.log" >&2 || echo "chaos: no summary line" >&2
fi

echo "$total_pass passed, $total_fail failed, $total_skip skipped"
exit $failed
