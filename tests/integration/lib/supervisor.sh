# tests/integration/lib/supervisor.sh — helpers of the t_supervisor_*.sh tests, on top of
# lib/pipeline.sh: a supervisor configuration, starting `ksensord -f` (the supervisor and its
# workers; every one started here is killed with its workers when the test exits), reading the
# supervisor's log (worker pids, the HTTP port), GETs on /healthz, /readyz and /metrics.
. "$KS_TOP/tests/integration/lib/pipeline.sh"

# sv_config FILE POOL WORKERS PARTITIONS SENSORS_GLOB: a supervisor configuration: pl_config's,
# with WORKERS workers, PARTITIONS partitions per internal topic, an HTTP listener on a free
# loopback port, the pid file and dataDir under KS_TMP/POOL.
sv_config() {
  local file=$1 pool=$2 workers=$3 parts=$4 sensors=$5
  pl_config "$file" "$pool" svhost "$KS_TMP/$pool/data" "$sensors"
  sed -i "s/^  partitions: .*/  partitions: $parts/" "$file"
  cat >>"$file" <<YAML
workers: $workers
listen: "127.0.0.1:0"
pidFile: "$KS_TMP/$pool/ksensord.pid"
shutdownTimeout: 20s
YAML
  mkdir -p "$KS_TMP/$pool"
}

sv_cleanup() {
  local pid
  pl_cleanup
  # daemons (not children of the test) and workers whose supervisor died first
  for pid in $(pgrep -f "ksensord (-f )?-c $KS_TMP/" 2>/dev/null || true); do kill -9 "$pid" 2>/dev/null || true; done
}
trap sv_cleanup EXIT

# sv_start VAR LOG CONFIG [NAME=VALUE...]: starts the supervisor in the foreground; its pid goes to VAR.
sv_start() {
  local -n __svpid=$1
  local log=$2 cfg=$3
  shift 3
  echo "==== $(date +%T.%N) start ${*:-} ====" >>"$log"
  env "$@" "$KS_BUILD/ksensord" -f -c "$cfg" >>"$log" 2>&1 &
  __svpid=$!
  PL_LIVE[$__svpid]=$log
}

# sv_log_count LOG REGEX: how many lines of LOG match REGEX (awk syntax).
sv_log_count() { awk -v re="$2" '$0 ~ re { n++ } END { print n + 0 }' "$1"; }

# sv_wait_log LOG REGEX COUNT SECONDS: waits until COUNT lines of LOG match REGEX.
sv_wait_log() {
  local log=$1 re=$2 want=$3 secs=$4 deadline=$((SECONDS + $4))
  until (($(sv_log_count "$log" "$re") >= want)); do
    ((SECONDS < deadline)) || pl_fail "timed out after $secs s waiting for $want lines matching /$re/ in $(basename "$log")"
    sleep 0.2
  done
}

# sv_ready LOG GENERATION WORKERS SECONDS: waits for "generation G: all N workers ready".
sv_ready() { sv_wait_log "$1" "generation $2: all $3 workers ready" 1 "$4"; }

# sv_port LOG: the HTTP port the supervisor bound (the last start in LOG).
sv_port() { awk '/supervisor\[[0-9]+\]: ksensord .* http port / { p = $NF } END { print p }' "$1"; }

# sv_worker_pid LOG SLOT: the pid of the newest process started for SLOT.
sv_worker_pid() {
  awk -v s="$2" '$0 ~ ("worker " s " started: pid ") { sub(/.*started: pid /, ""); sub(/,.*/, ""); p = $0 } END { print p }' "$1"
}

# sv_get PORT PATH: prints "STATUS BODY" of a GET.
sv_get() { curl -s -m 5 -o "$KS_TMP/http.body" -w '%{http_code}' "http://127.0.0.1:$1$2" && echo " $(cat "$KS_TMP/http.body")"; }

# sv_metric PORT NAME_WITH_LABELS: the value of one sample of /metrics (empty when absent).
sv_metric() {
  curl -s -m 5 "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m && v == "" { v = $2 } END { print v }'
}

# sv_wait_metric PORT SAMPLE VALUE SECONDS: waits until the sample equals VALUE.
sv_wait_metric() {
  local port=$1 m=$2 want=$3 deadline=$((SECONDS + $4)) got
  while :; do
    got=$(sv_metric "$port" "$m")
    [[ $got == "$want" ]] && return 0
    ((SECONDS < deadline)) || pl_fail "metric $m is '$got' after $4 s, expected $want"
    sleep 0.3
  done
}
