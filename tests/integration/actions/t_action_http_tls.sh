#!/usr/bin/env bash
# http actions over TLS against a real TLS receiver (tests/tools/kshttpd --tls, which requires a
# client certificate signed by the test CA), on the real broker. Certificates and keys are read from
# secretsDir as Argo mounts them (<secretsDir>/<name>/<key>):
#   - caCertSecret + clientCertSecret/clientKeySecret: the call is made, the receiver sees the
#     client's certificate;
#   - no client certificate: the receiver refuses the handshake, the firing fails;
#   - a CA that did not sign the server's certificate: verification fails, no request;
#   - the same wrong CA with insecureSkipVerify: the call is made, with a warning in the log;
#   - no tls block: the system's CAs do not know the test CA, verification fails.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

pki=$KS_TMP/pki
mkdir -p "$pki" "$KS_TMP/secrets/tls" "$KS_TMP/secrets/other" "$KS_TMP/sensors"
# cert NAME CN [EXTRA...]: NAME.pem/NAME.key signed by the test CA
cert() {
  local name=$1 cn=$2
  shift 2
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$cn" -addext basicConstraints=CA:FALSE "$@" \
    -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -keyout "$pki/$name.key" -out "$pki/$name.pem" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=ks-test-ca -keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=ks-other-ca -keyout "$pki/other.key" -out "$pki/other.pem" 2>/dev/null
cert server localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost
cert client ks-test-client
cp "$pki/ca.pem" "$KS_TMP/secrets/tls/ca"
cp "$pki/client.pem" "$KS_TMP/secrets/tls/cert"
cp "$pki/client.key" "$KS_TMP/secrets/tls/key"
cp "$pki/other.pem" "$KS_TMP/secrets/other/ca"

"$KS_BUILD/kshttpd" "$KS_TMP/http.port" "$KS_TMP/requests.jsonl" --tls "$pki/server.pem" "$pki/server.key" \
  --client-ca "$pki/ca.pem" &
PL_LIVE[$!]=$KS_TMP/kshttpd.log
pl_until 10 "the HTTPS receiver" test -s "$KS_TMP/http.port"
url=https://127.0.0.1:$(cat "$KS_TMP/http.port")

# sensor NAME EVENT [TLS YAML LINES...]: one http trigger on EVENT calling $url/NAME
sensor() {
  local name=$1 event=$2
  shift 2
  {
    pl_http_sensor "$name" "$event" "$url/$name" 5
    for line in "$@"; do echo "          $line"; done
  } >"$KS_TMP/sensors/$name.yaml"
}
ca="caCertSecret: {name: tls, key: ca}"
client=("clientCertSecret: {name: tls, key: cert}" "clientKeySecret: {name: tls, key: key}")
sensor verified blue "tls:" "  $ca" "  ${client[0]}" "  ${client[1]}"
sensor nocert yellow "tls:" "  $ca"
sensor wrongca red "tls:" "  caCertSecret: {name: other, key: ca}" "  ${client[0]}" "  ${client[1]}"
sensor insecure green "tls:" "  caCertSecret: {name: other, key: ca}" "  ${client[0]}" "  ${client[1]}" \
  "  insecureSkipVerify: true"
sensor system purple

pool=tls-$RANDOM
pl_config "$KS_TMP/w.yaml" "$pool" tlshost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"
echo "secretsDir: \"$KS_TMP/secrets\"" >>"$KS_TMP/w.yaml"
pl_topic "$pool-events" 1
for e in blue yellow red green purple; do pl_event "tls-$e" "$e" '{"n":1}'; done >"$KS_TMP/events.tsv"
pl_start_fresh w "$KS_TMP/w.log" "$KS_TMP/w.yaml"
pl_produce "$pool-events" "$KS_TMP/events.tsv"
pl_wait_drained "$pool" 90
pl_stop "$w"

req=$KS_TMP/requests.jsonl
ledger() { sqlite3 -readonly -separator '|' "$KS_TMP/data/$pool-action-0.db" "SELECT status, attempts, coalesce(last_status, '') FROM ledger WHERE sensor = '$1'"; }
lasterr() { sqlite3 -readonly "$KS_TMP/data/$pool-action-0.db" "SELECT last_error FROM ledger WHERE sensor = '$1'"; }
requests() { jq -c --arg p "/$1" 'select(.path == $p)' "$req"; }

[[ $(requests verified | jq -r '[.tls, .client, .key != ""] | @tsv') == $'true\tks-test-client\ttrue' ]] \
  || pl_fail "verified: $(requests verified)"
[[ $(ledger verified) == "done|1|200" ]] || pl_fail "verified ledger: $(ledger verified)"
pl_say "CA + client certificate: called; the receiver saw the client certificate ks-test-client"

[[ -z $(requests nocert) ]] || pl_fail "nocert: the receiver logged a request: $(requests nocert)"
[[ $(ledger nocert) == "failed|1|" ]] || pl_fail "nocert ledger: $(ledger nocert)"
jq -e -s 'any(.[]; (.tls_error // "") | test("certificate"))' "$req" >/dev/null \
  || pl_fail "the receiver logged no refused handshake: $(jq -c 'select(.tls_error)' "$req")"
pl_say "no client certificate: the handshake refused, the firing failed ($(lasterr nocert | cut -c1-80))"

[[ -z $(requests wrongca) ]] || pl_fail "wrongca: $(requests wrongca)"
[[ $(ledger wrongca) == "failed|1|" ]] || pl_fail "wrongca ledger: $(ledger wrongca)"
lasterr wrongca | grep -qi 'certificate' || pl_fail "wrongca error: $(lasterr wrongca)"
[[ -z $(requests system) ]] || pl_fail "system: $(requests system)"
[[ $(ledger system) == "failed|1|" ]] || pl_fail "system ledger: $(ledger system)"
pl_say "an unknown CA (configured or the system's): verification failed, no request ($(lasterr wrongca | cut -c1-80))"

[[ $(requests insecure | jq -r '.client') == ks-test-client ]] || pl_fail "insecure: $(requests insecure)"
[[ $(ledger insecure) == "done|1|200" ]] || pl_fail "insecure ledger: $(ledger insecure)"
grep -q 'insecureSkipVerify: the server.s certificate is not verified' "$KS_TMP/w.log" || pl_fail "no warning about insecureSkipVerify"
pl_say "insecureSkipVerify: called despite the unknown CA, with a warning"
