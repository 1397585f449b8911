#!/usr/bin/env bash
# kafka.sh: fetch and run a real Apache Kafka 4.x broker (KRaft, 1 or 3 nodes)
# on 127.0.0.1 for integration tests. No Docker: the jars come from Maven
# Central (pom.xml next to this file) and run on the local JDK.
#
#   kafka.sh fetch                          resolve the jars only (warms the cache)
#   kafka.sh start [--nodes 1|3] [--port P] start; prints the bootstrap address on stdout
#   kafka.sh start --tls DIR [--port P]     1 node with TLS and SASL_SSL listeners too, on
#                                           P+1..P+5, certificates from DIR (see README)
#   kafka.sh stop                           stop what `start` started, delete its data
#   kafka.sh stop-node N | start-node N     stop/restart one node, keeping its data
#   kafka.sh status | bootstrap             what runs / just the bootstrap address
#   kafka.sh tool CLASS [ARGS...]           run a Kafka CLI class from the same classpath
#
# stdout carries only results (the bootstrap address); progress goes to stderr.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_DIR=${KAFKA_CACHE_DIR:-$HOME/.cache/kafkaworker/kafka}
STATE_DIR=${KAFKA_STATE_DIR:-/tmp/kafkaworker-kafka}
LIB_DIR=$CACHE_DIR/lib
READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-90}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30} # stop-node: clean shutdown matters, data is kept
KAFKA_HEAP=${KAFKA_HEAP:--Xmx512m -Xms256m}
KAFKA_OPTS=${KAFKA_OPTS:-} # extra JVM flags for the brokers only
# Short-lived CLI JVMs (format, readiness polls, tool): C1 only and serial GC
# start ~40% faster on small machines; the brokers keep full JIT for benchmarks.
TOOL_JVM=(-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC)

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH. $2"; }
now() { printf '%s' "${EPOCHREALTIME:-$SECONDS}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1; }
kafka_version() { local j; j=$(cd "$LIB_DIR" && ls kafka_2.13-*.jar); j=${j#kafka_2.13-}; echo "${j%.jar}"; }

# ---------------------------------------------------------------- jars

# fetch: copy Kafka and its runtime deps into $LIB_DIR. Skips Maven entirely
# when the lib dir was built from a pom with the same sha256 (the stamp).
fetch() {
	need java "Install a JDK 17+ (e.g. apt-get install openjdk-17-jdk-headless)."
	local sum
	sum=$(sha256 "$HERE/pom.xml")
	if [[ -f $CACHE_DIR/lib.sha256 && $(<"$CACHE_DIR/lib.sha256") == "$sum" ]] &&
		compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null; then
		return 0
	fi
	need mvn "Install Maven 3.8+ (e.g. apt-get install maven); it is needed once to download the Kafka jars."
	log "resolving Kafka jars with Maven into $LIB_DIR (jars are cached in ~/.m2)"
	local t0
	t0=$(now)
	mkdir -p "$CACHE_DIR"
	# Maven runs on a copy in the cache dir so it never writes target/ into the source tree.
	cp "$HERE/pom.xml" "$CACHE_DIR/pom.xml"
	rm -rf "$LIB_DIR.tmp"
	# The sed drops the stray colour-reset codes Debian's Maven 3.8 prints even with -q -B.
	local esc=$'\033'
	mvn -q -B -Dstyle.color=never -f "$CACHE_DIR/pom.xml" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$LIB_DIR.tmp" 2>&1 |
		sed -e "s/$esc\[[0-9;]*m//g" -e '/^$/d' >&2 ||
		die "Maven could not resolve the jars of $HERE/pom.xml (network to Maven Central? see output above)"
	# Swap in atomically so an interrupted fetch never leaves a half-filled lib dir.
	rm -rf "$LIB_DIR"
	mv "$LIB_DIR.tmp" "$LIB_DIR"
	echo "$sum" >"$CACHE_DIR/lib.sha256"
	log "Kafka $(kafka_version): $(find "$LIB_DIR" -name '*.jar' | wc -l | tr -d ' ') jars ready in $(since "$t0")s"
}

# java_cmd LOGDIR: the common JVM command line; our log4j2 config writes WARN+
# to LOGDIR/kafka.log and prints only errors on the console.
java_cmd() {
	JAVA_CMD=(java -Djava.awt.headless=true -cp "$LIB_DIR/*"
		-Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dkafka.logs.dir="$1")
}

# tool CLASS ARGS...: run a Kafka CLI class (TopicCommand, ConsoleProducer, ...).
tool() {
	java_cmd "$CACHE_DIR/tool-logs"
	"${JAVA_CMD[@]}" "${TOOL_JVM[@]}" "$@"
}

# ---------------------------------------------------------------- state
# $STATE_DIR/cluster.env holds NODES PORT CPORT CLUSTER_ID DATA_ROOT BOOTSTRAP;
# $STATE_DIR/node-N.pid holds the JVM pid of node N while it runs.
# Node N listens on 127.0.0.1:PORT+N-1 (clients) and 127.0.0.1:CPORT+N-1 (KRaft).

load_state() {
	[[ -f $STATE_DIR/cluster.env ]] || return 1
	# shellcheck source=/dev/null
	. "$STATE_DIR/cluster.env"
}

broker_port() { echo $((PORT + $1 - 1)); }
controller_port() { echo $((CPORT + $1 - 1)); }
node_dir() { echo "$DATA_ROOT/node-$1"; }

# node_pid N: print the pid of node N if it is alive AND really our JVM
# (command line names this node's config), so a recycled pid is never killed.
node_pid() {
	local f=$STATE_DIR/node-$1.pid pid
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	ps -o args= -p "$pid" 2>/dev/null | grep -qF "kafka.Kafka $(node_dir "$1")/server.properties" || return 1
	echo "$pid"
}

running_nodes() {
	local n
	for ((n = 1; n <= NODES; n++)); do node_pid "$n" >/dev/null && echo "$n"; done
	return 0
}

port_busy() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_ports_free() {
	local p
	for p in "$@"; do
		port_busy "$p" && die "port 127.0.0.1:$p is already in use (another Kafka? see: ss -ltnp | grep :$p); choose another with --port"
	done
	return 0
}

# kill_pids GRACE PID...: TERM (lets Kafka shut down cleanly), wait GRACE s, then KILL.
kill_pids() {
	local grace=$1
	shift
	(($# > 0)) || return 0
	kill -TERM "$@" 2>/dev/null || true
	wait_gone "$grace" "$@" && return 0
	log "still running after ${grace}s, sending KILL to $*"
	kill -KILL "$@" 2>/dev/null || true
	# KILL is quick, but wait for it so the ports are free when we return.
	wait_gone 5 "$@" || die "pids $* survived KILL"
}

# wait_gone SECONDS PID...: until none runs. A zombie counts as gone: after a
# failed start the JVMs are still our children and nobody reaps them yet.
wait_gone() {
	local deadline=$((SECONDS + $1)) p alive
	shift
	while :; do
		alive=0
		for p in "$@"; do [[ $(ps -o stat= -p "$p" 2>/dev/null) =~ ^[^Z] ]] && alive=1; done
		((alive == 0)) && return 0
		((SECONDS >= deadline)) && return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------- nodes

write_config() { # N
	local n=$1 dir voters="" i rf=1
	dir=$(node_dir "$n")
	for ((i = 1; i <= NODES; i++)); do voters+="${voters:+,}$i@127.0.0.1:$(controller_port "$i")"; done
	((NODES == 3)) && rf=3 # internal topics survive one node down in failover tests
	mkdir -p "$dir/data" "$dir/logs"
	cat >"$dir/server.properties" <<-EOF
		# Generated by kafka.sh: combined KRaft node tuned for fast tests, not production.
		process.roles=broker,controller
		node.id=$n
		# Static voters: same file shape for 1 and 3 nodes, formatted without --standalone.
		controller.quorum.voters=$voters
		listeners=PLAINTEXT://127.0.0.1:$(broker_port "$n"),CONTROLLER://127.0.0.1:$(controller_port "$n")$(tls_listeners)
		advertised.listeners=PLAINTEXT://127.0.0.1:$(broker_port "$n")$(tls_listeners)
		listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT$(tls_protocol_map)
		controller.listener.names=CONTROLLER
		inter.broker.listener.name=PLAINTEXT
		log.dirs=$dir/data
		# Tests create their topics explicitly and want consumers to join at once.
		auto.create.topics.enable=false
		num.partitions=1
		group.initial.rebalance.delay.ms=0
		offsets.topic.num.partitions=1
		offsets.topic.replication.factor=$rf
		transaction.state.log.replication.factor=$rf
		transaction.state.log.min.isr=1
		share.coordinator.state.topic.replication.factor=$rf
		share.coordinator.state.topic.min.isr=1
	EOF
	[[ -z ${TLS_DIR:-} ]] || write_tls_config >>"$dir/server.properties"
}

# ---------------------------------------------------------------- TLS
# With --tls DIR (one node), the broker also listens, on PORT+1..PORT+5, as:
#   SSL        SSL, server.pem, client certificate requested (ssl.client.auth=requested)
#   MTLS       SSL, server.pem, client certificate required
#   SASL_SSL   SASL_SSL with SCRAM-SHA-512, server.pem; user from DIR/scram.env
#   EXPIRED    SSL, expired.pem: a certificate that expired
#   WRONGHOST  SSL, wronghost.pem: a certificate for another host name
# every one trusting DIR/ca.pem. All PEM (ssl.keystore.type=PEM): no keytool.
# DIR is filled by `go run ./internal/testtls/gencerts DIR`; kafka.sh writes
# DIR/listeners.env (NAME=127.0.0.1:port, PLAINTEXT too) once the broker is ready.
TLS_LISTENERS=(SSL MTLS SASL_SSL EXPIRED WRONGHOST)

tls_port() { # NAME
	local i
	for i in "${!TLS_LISTENERS[@]}"; do
		[[ ${TLS_LISTENERS[$i]} == "$1" ]] && echo $((PORT + 1 + i)) && return 0
	done
	return 1
}

tls_listeners() {
	[[ -n ${TLS_DIR:-} ]] || return 0
	local l
	for l in "${TLS_LISTENERS[@]}"; do printf ',%s://127.0.0.1:%s' "$l" "$(tls_port "$l")"; done
}

tls_protocol_map() {
	[[ -n ${TLS_DIR:-} ]] && printf ',SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL,EXPIRED:SSL,WRONGHOST:SSL'
	return 0
}

write_tls_config() {
	local l keystore
	cat <<-EOF
		# TLS tier (--tls $TLS_DIR): PEM keystores and truststore, no keytool.
		ssl.truststore.type=PEM
		ssl.truststore.location=$TLS_DIR/ca.pem
		ssl.keystore.type=PEM
		sasl.enabled.mechanisms=SCRAM-SHA-512
		listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
		listener.name.ssl.ssl.client.auth=requested
		listener.name.mtls.ssl.client.auth=required
	EOF
	for l in "${TLS_LISTENERS[@]}"; do
		case $l in
		EXPIRED) keystore=expired.pem ;;
		WRONGHOST) keystore=wronghost.pem ;;
		*) keystore=server.pem ;;
		esac
		printf 'listener.name.%s.ssl.keystore.location=%s\n' "${l,,}" "$TLS_DIR/$keystore"
	done
}

# tls_check_dir: the files gencerts writes are all there.
tls_check_dir() {
	local f
	for f in ca.pem server.pem expired.pem wronghost.pem scram.env; do
		[[ -f $TLS_DIR/$f ]] || die "--tls $TLS_DIR: $f missing (fill it with: go run ./internal/testtls/gencerts $TLS_DIR)"
	done
}

write_tls_listeners() {
	local l
	{
		printf 'PLAINTEXT=%s\n' "$BOOTSTRAP"
		for l in "${TLS_LISTENERS[@]}"; do printf '%s=127.0.0.1:%s\n' "$l" "$(tls_port "$l")"; done
	} >"$TLS_DIR/listeners.env"
}

format_node() { # N
	local out
	java_cmd "$(node_dir "$1")/logs"
	local scram=()
	if [[ -n ${TLS_DIR:-} ]]; then
		# shellcheck source=/dev/null
		. "$TLS_DIR/scram.env"
		scram=(--add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]")
	fi
	out=$("${JAVA_CMD[@]}" "${TOOL_JVM[@]}" kafka.tools.StorageTool format \
		--cluster-id "$CLUSTER_ID" --config "$(node_dir "$1")/server.properties" "${scram[@]}" 2>&1) ||
		{
			printf '%s\n' "$out" >&2
			return 1
		}
}

launch_node() { # N: start the JVM detached and record its pid
	local n=$1 dir
	dir=$(node_dir "$n")
	java_cmd "$dir/logs"
	# shellcheck disable=SC2086 # KAFKA_HEAP and KAFKA_OPTS are lists of JVM flags
	# setsid: the broker must outlive the caller's process group (Ctrl-C, test runner
	# killing its group); nohup + </dev/null + file output: `$(kafka.sh start)` must not
	# wait on a pipe the JVM holds. Without job control setsid does not fork, so $! is the JVM.
	${SETSID:-} nohup "${JAVA_CMD[@]}" $KAFKA_HEAP $KAFKA_OPTS kafka.Kafka "$dir/server.properties" \
		</dev/null >"$dir/logs/stdout.log" 2>&1 &
	echo $! >"$STATE_DIR/node-$n.pid"
}

launched_listening() {
	local n
	for n in "${LAUNCHED[@]}"; do port_busy "$(broker_port "$n")" || return 1; done
}

# wait_ready BOOTSTRAP COUNT: until a client gets metadata listing COUNT brokers
# (BrokerApiVersionsCommand prints one "(id: N ...)" line per broker in metadata;
# it fails or lists fewer brokers until they have registered with the controller).
wait_ready() {
	local bootstrap=$1 want=$2 deadline=$((SECONDS + READY_TIMEOUT)) n got out
	while :; do
		for n in "${LAUNCHED[@]}"; do
			node_pid "$n" >/dev/null || {
				tail -n 20 "$(node_dir "$n")/logs/stdout.log" "$(node_dir "$n")/logs/kafka.log" >&2 2>/dev/null || true
				die "node $n exited during startup (logs: $(node_dir "$n")/logs)"
			}
		done
		# Poll the ports cheaply first: a client JVM per try would steal the CPU
		# the starting brokers need (it doubled start time on a 2-core machine).
		got=0
		if launched_listening; then
			java_cmd "$CACHE_DIR/tool-logs"
			out=$(timeout 30 "${JAVA_CMD[@]}" "${TOOL_JVM[@]}" org.apache.kafka.tools.BrokerApiVersionsCommand \
				--bootstrap-server "$bootstrap" 2>/dev/null) || true
			got=$(grep '(id: ' <<<"$out" | grep -vc 'isFenced: true' || true)
			((got >= want)) && return 0
		fi
		((SECONDS >= deadline)) && die "not ready after ${READY_TIMEOUT}s: metadata lists $got of $want brokers (logs: $DATA_ROOT/node-*/logs)"
		sleep 0.3
	done
}

# ---------------------------------------------------------------- commands

# On a failed start, end every JVM this attempt launched and drop its data.
abort_start() {
	local n pids=()
	for n in "${LAUNCHED[@]}"; do
		[[ -f $STATE_DIR/node-$n.pid ]] && pids+=("$(<"$STATE_DIR/node-$n.pid")")
	done
	((${#pids[@]} > 0)) && log "start failed: stopping the JVMs it launched (${pids[*]})"
	kill_pids 5 "${pids[@]}"
	remove_cluster
}

remove_cluster() {
	# Guard the rm -rf: only ever delete a dir that mktemp made for us.
	[[ -n ${DATA_ROOT:-} && $DATA_ROOT == */kafkaworker-kafka-data.* ]] && rm -rf "$DATA_ROOT"
	rm -f "$STATE_DIR"/node-*.pid "$STATE_DIR/cluster.env"
}

cmd_start() {
	local nodes=1 port=9092 tls=""
	while (($# > 0)); do
		case $1 in
		--nodes) nodes=${2:?--nodes needs 1 or 3}; shift 2 ;;
		--port) port=${2:?--port needs a number}; shift 2 ;;
		--tls) tls=${2:?--tls needs a directory}; shift 2 ;;
		*) die "start: unknown argument '$1' (usage: start [--nodes 1|3] [--port 9092] [--tls DIR])" ;;
		esac
	done
	[[ $nodes == 1 || $nodes == 3 ]] || die "--nodes must be 1 or 3, not '$nodes'"
	if [[ -n $tls ]]; then
		((nodes == 1)) || die "--tls runs one node only"
		TLS_DIR=$(cd "$tls" && pwd) || die "--tls $tls: no such directory"
		tls_check_dir
	fi
	need java "Install a JDK 17+ (e.g. apt-get install openjdk-17-jdk-headless)."
	if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port + 10003 > 65535)); then die "bad --port '$port'"; fi

	if load_state; then
		[[ -n $(running_nodes) ]] && die "a cluster already runs ($BOOTSTRAP, state in $STATE_DIR); run '$0 stop' first"
		log "removing stale state of a cluster that is no longer running ($DATA_ROOT)"
		remove_cluster
	fi
	NODES=$nodes PORT=$port CPORT=$((port + 10001))
	local n all=()
	for ((n = 1; n <= NODES; n++)); do all+=("$(broker_port "$n")" "$(controller_port "$n")"); done
	if [[ -n ${TLS_DIR:-} ]]; then for n in "${TLS_LISTENERS[@]}"; do all+=("$(tls_port "$n")"); done; fi
	check_ports_free "${all[@]}"
	fetch

	local t0
	t0=$(now)
	mkdir -p "$STATE_DIR"
	DATA_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/kafkaworker-kafka-data.XXXXXX")
	# A Kafka cluster id is 16 random bytes in URL-safe base64 without padding;
	# like Kafka's Uuid.randomUuid, avoid a leading '-' that a CLI parser would take as a flag.
	CLUSTER_ID=-
	while [[ $CLUSTER_ID == -* ]]; do
		CLUSTER_ID=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
	done
	BOOTSTRAP=""
	for ((n = 1; n <= NODES; n++)); do BOOTSTRAP+="${BOOTSTRAP:+,}127.0.0.1:$(broker_port "$n")"; done
	printf 'NODES=%s\nPORT=%s\nCPORT=%s\nCLUSTER_ID=%s\nDATA_ROOT=%s\nBOOTSTRAP=%s\nTLS_DIR=%q\n' \
		"$NODES" "$PORT" "$CPORT" "$CLUSTER_ID" "$DATA_ROOT" "$BOOTSTRAP" "${TLS_DIR:-}" >"$STATE_DIR/cluster.env"

	LAUNCHED=()
	trap abort_start EXIT
	# Format all nodes in parallel: each is a JVM start (~1-2 s).
	local fpids=() failed=0
	for ((n = 1; n <= NODES; n++)); do
		write_config "$n"
		format_node "$n" &
		fpids+=($!)
	done
	for n in "${fpids[@]}"; do wait "$n" || failed=1; done
	((failed == 0)) || die "formatting the storage failed (see output above)"
	log "formatted $NODES node(s) in $(since "$t0")s, cluster id $CLUSTER_ID, data in $DATA_ROOT"

	for ((n = 1; n <= NODES; n++)); do
		launch_node "$n"
		LAUNCHED+=("$n")
	done
	wait_ready "$BOOTSTRAP" "$NODES"
	[[ -z ${TLS_DIR:-} ]] || write_tls_listeners
	trap - EXIT
	log "Kafka $(kafka_version) ready with $NODES node(s) in $(since "$t0")s"
	echo "$BOOTSTRAP"
}

cmd_stop() {
	if ! load_state; then
		log "nothing to stop (no state in $STATE_DIR)"
		return 0
	fi
	local n pids=()
	for n in $(running_nodes); do pids+=("$(node_pid "$n")"); done
	((${#pids[@]} > 0)) && log "stopping ${#pids[@]} node(s): pids ${pids[*]}"
	# Short grace: the data is deleted next, and brokers stopping together lose their
	# controller quorum, so a clean shutdown would mostly wait for nothing.
	kill_pids 5 "${pids[@]}"
	remove_cluster
	log "stopped; removed $DATA_ROOT"
}

node_arg() {
	load_state || die "no cluster (run '$0 start' first)"
	if ! [[ ${1:-} =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > NODES)); then die "node must be 1..$NODES, not '${1:-}'"; fi
}

cmd_stop_node() {
	node_arg "$@"
	local pid
	pid=$(node_pid "$1") || {
		log "node $1 is not running"
		return 0
	}
	log "stopping node $1 (pid $pid); its data stays in $(node_dir "$1")"
	kill_pids "$STOP_TIMEOUT" "$pid"
	rm -f "$STATE_DIR/node-$1.pid"
}

cmd_start_node() {
	node_arg "$@"
	node_pid "$1" >/dev/null && die "node $1 is already running"
	check_ports_free "$(broker_port "$1")" "$(controller_port "$1")"
	local t0 n count=0
	t0=$(now)
	LAUNCHED=("$1")
	launch_node "$1"
	# Ready when this node answers and the metadata lists every running node again.
	for n in $(running_nodes); do count=$((count + 1)); done
	wait_ready "127.0.0.1:$(broker_port "$1")" "$count"
	log "node $1 back in $(since "$t0")s"
	echo "$BOOTSTRAP"
}

cmd_status() {
	if ! load_state; then
		echo "not running"
		return 1
	fi
	local n pid up=0
	echo "bootstrap: $BOOTSTRAP  cluster id: $CLUSTER_ID  data: $DATA_ROOT"
	for ((n = 1; n <= NODES; n++)); do
		if pid=$(node_pid "$n"); then
			up=$((up + 1))
			echo "node $n: running pid $pid, 127.0.0.1:$(broker_port "$n") (controller :$(controller_port "$n"))"
		else
			echo "node $n: stopped"
		fi
	done
	((up > 0))
}

command -v setsid >/dev/null && SETSID=setsid # absent on macOS; nohup alone still works
case ${1:-} in
fetch) fetch ;;
start) shift; cmd_start "$@" ;;
stop) cmd_stop ;;
stop-node) shift; cmd_stop_node "$@" ;;
start-node) shift; cmd_start_node "$@" ;;
status) cmd_status ;;
bootstrap) load_state || die "not running"; echo "$BOOTSTRAP" ;;
tool) shift; fetch; tool "$@" ;;
*)
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
