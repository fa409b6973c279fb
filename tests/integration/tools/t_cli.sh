#!/usr/bin/env bash
# The command lines of ksensord and ksensorctl as a user meets them: version, help, usage errors,
# and `ksensord -t` on a valid and an invalid configuration (exit status and file:line:column).
set -euo pipefail
d=$KS_BUILD/ksensord
c=$KS_BUILD/ksensorctl
fail() { echo "FAIL: $*" >&2; exit 1; }

"$d" --version | grep -Eq '^ksensord [0-9]+\.[0-9]+\.[0-9]+ \(librdkafka 2\.' || fail "ksensord --version"
"$c" --version | grep -Eq '^ksensorctl [0-9]+\.[0-9]+\.[0-9]+ \(librdkafka .*, SQLite 3\.' || fail "ksensorctl --version"
"$d" --help | grep -q -- '--test' || fail "ksensord --help lacks -t"
"$c" --help | grep -q '^Usage: ksensorctl' || fail "ksensorctl --help"

set +e
"$d" --no-such-option >/dev/null 2>&1; [[ $? == 2 ]] || fail "ksensord: a usage error must exit 2"
"$c" no-such-command >/dev/null 2>&1; [[ $? == 2 ]] || fail "ksensorctl: an unknown command must exit 2"
set -e

"$d" -t -c "$KS_TOP/etc/ksensord.yaml" | grep -q 'configuration is valid' || fail "the shipped example must be valid"

cat >"$KS_TMP/bad.yaml" <<'YAML'
eventbus:
  brokers: localhost
workers: -3
YAML
set +e
out=$("$d" -t -c "$KS_TMP/bad.yaml" 2>&1); rc=$?
set -e
[[ $rc == 1 ]] || fail "-t on a bad file exited $rc, expected 1"
grep -qx "$KS_TMP/bad.yaml:2:12: eventbus.brokers: expected \"embedded\" or a comma-separated list of host:port (got 'localhost')" <<<"$out" \
  || fail "missing brokers message in: $out"
grep -qx "$KS_TMP/bad.yaml:3:10: workers: must be between 1 and 1024 (got '-3')" <<<"$out" \
  || fail "missing workers message in: $out"
grep -q '2 problems, configuration refused' <<<"$out" || fail "missing summary in: $out"

# the manual pages and --help tell the same story: every command ksensorctl lists has its own --help
# and a paragraph in ksensorctl(1); every option ksensord lists is in ksensord(8)
cmds=$("$c" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
(($(wc -w <<<"$cmds") >= 9)) || fail "ksensorctl --help lists only: $cmds"
for cmd in $cmds; do
  "$c" "$cmd" --help | grep -q "^Usage: ksensorctl $cmd" || fail "ksensorctl $cmd --help"
  grep -Eq "^\.BI? \"?$cmd( |\"|\$)" "$KS_TOP/tools/ksensorctl/ksensorctl.1" || fail "ksensorctl(1) does not describe '$cmd'"
done
for opt in $("$d" --help | grep -Eo -- '--[a-z]+' | sort -u); do
  grep -qF -- "\-\-${opt#--}" "$KS_TOP/supervisor/ksensord.8" || fail "ksensord(8) does not describe $opt"
done
echo ok
