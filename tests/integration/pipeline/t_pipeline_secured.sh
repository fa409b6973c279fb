#!/usr/bin/env bash
# A secured broker (DESIGN.md §5: eventbus.tls, eventbus.sasl): a broker of its own, started here with
# a SASL_SSL listener (PLAIN over TLS, throwaway certificates made with openssl) next to a PLAINTEXT one
# for the test's tools. A worker configured with the CA, the user and a password file runs the
# pipeline over TLS (a blue event fires example-1/trigger-1); a wrong password, an unknown CA and an
# expired broker certificate each stop it with one clear line, and the password is never in the log.
# Then a broker that requires client certificates: with eventbus.tls.certFile/keyFile the pipeline
# runs, without them the worker is refused. SCRAM is not tested: Debian's librdkafka (2.0.2) cannot authenticate with SCRAM
# to Kafka 4 (fixed in librdkafka 2.6.1), see README.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

kafka=$KS_TOP/tools/kafka-local/kafka-local
certs=$KS_TMP/certs
mkdir -p "$certs/expired" "$certs/other"
trap 'pl_cleanup; "$kafka" stop --dir "$KS_TMP/kafka" >/dev/null 2>&1 || true' EXIT

# a CA, a broker certificate for 127.0.0.1, another CA, and a broker certificate that has expired
cd "$certs"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=ksensor-test-ca 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other/ca.key -out other/ca.pem -days 2 -subj /CN=another-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.cnf
openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out broker.crt -days 2 -extfile san.cnf 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in broker.key -out broker.p8
cat broker.p8 broker.crt >broker.pem
mkdir -p ca-db && : >ca-db/index.txt && echo 01 >ca-db/serial
cat >ca.cnf <<CNF
[ca]
default_ca = test
[test]
dir = $certs/ca-db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $certs/ca.pem
private_key = $certs/ca.key
default_md = sha256
policy = any
copy_extensions = copy
[any]
commonName = supplied
CNF
openssl req -newkey rsa:2048 -nodes -keyout expired/broker.key -out expired/broker.csr -subj /CN=127.0.0.1 \
  -addext 'subjectAltName=IP:127.0.0.1' 2>/dev/null
openssl ca -batch -config ca.cnf -startdate 20200101000000Z -enddate 20200102000000Z -in expired/broker.csr \
  -out expired/broker.crt 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in expired/broker.key -out expired/broker.p8
cat expired/broker.p8 expired/broker.crt >expired/broker.pem
cp ca.pem expired/ca.pem
password=pw-$RANDOM$RANDOM$RANDOM
wrong=wrong-$RANDOM$RANDOM$RANDOM
echo "$password" >password
echo "$wrong" >wrong-password
cd - >/dev/null

secure=$("$kafka" start --port 0 --dir "$KS_TMP/kafka" --sasl-ssl "$certs" --user "ksensor:$certs/password" | tail -n 1)
PL_B=$(cat "$KS_TMP/kafka/plaintext")       # the test's own tools
pl_say "a broker with SASL_SSL (PLAIN over TLS) at $secure"

pool=secured-$RANDOM
pl_topic "$pool-events" 1
# config NAME CA PASSWORD_FILE: a worker configuration for the SASL_SSL listener
config() {
  pl_config "$KS_TMP/$1.yaml" "$pool" "sechost" "$KS_TMP/data" "$PL_SENSORS/valid/example-1.yaml"
  sed -i "s|^  brokers: .*|  brokers: \"$secure\"|; s|^  replicationFactor: 1$|  replicationFactor: 1\n  tls:\n    enabled: true\n    caFile: \"$2\"\n  sasl:\n    mechanism: PLAIN\n    username: ksensor\n    passwordFile: \"$3\"|" \
    "$KS_TMP/$1.yaml"
  grep -q 'mechanism: PLAIN' "$KS_TMP/$1.yaml" || pl_fail "the configuration was not edited"
}
# refused NAME LINE: the worker of NAME.yaml stops (exit 3) after logging LINE, without the passwords
refused() {
  local w
  pl_start w "$KS_TMP/$1.log" "$KS_TMP/$1.yaml"
  pl_wait_exit "$w" 60
  ((PL_RC == 3)) || pl_fail "$1: the worker exited $PL_RC, expected 3"
  grep -qF -- "$2" "$KS_TMP/$1.log" || pl_fail "$1: no line saying: $2"
  ! grep -qF -e "$password" -e "$wrong" "$KS_TMP/$1.log" || pl_fail "$1: a password is in the log"
  pl_say "$1: refused, with: $2"
}

config good "$certs/ca.pem" "$certs/password"
pl_start_fresh w "$KS_TMP/good.log" "$KS_TMP/good.yaml"
pl_event b1 blue >"$KS_TMP/events.tsv"
pl_produce "$pool-events" "$KS_TMP/events.tsv"
pl_wait_count "$pool-action" 1 30
pl_stop "$w"
[[ $(pl_read "$pool-action" '%k\n') == example-1/trigger-1 ]] || pl_fail "expected one firing of example-1/trigger-1"
! grep -qF "$password" "$KS_TMP/good.log" || pl_fail "the password is in the log"
pl_say "over SASL_SSL: the topics created, a blue event fired example-1/trigger-1; no password in the log"

config wrong "$certs/ca.pem" "$certs/wrong-password"
refused wrong "SASL authentication error: Authentication failed: Invalid username or password"
config unknown-ca "$certs/other/ca.pem" "$certs/password"
refused unknown-ca "TLS certificate refused (depth 0 in its chain): unable to get local issuer certificate"

"$kafka" stop --dir "$KS_TMP/kafka" >/dev/null
secure=$("$kafka" start --port 0 --dir "$KS_TMP/kafka" --sasl-ssl "$certs/expired" --user "ksensor:$certs/password" | tail -n 1)
config expired "$certs/ca.pem" "$certs/password"
refused expired "TLS certificate refused (depth 0 in its chain): certificate has expired"

# mutual TLS: a fresh broker that requires a client certificate
openssl req -newkey rsa:2048 -nodes -keyout "$certs/client.key" -out "$certs/client.csr" -subj /CN=ksensor 2>/dev/null
openssl x509 -req -in "$certs/client.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" -CAcreateserial \
  -out "$certs/client.crt" -days 2 2>/dev/null
"$kafka" stop --dir "$KS_TMP/kafka" >/dev/null
secure=$("$kafka" start --port 0 --dir "$KS_TMP/kafka" --sasl-ssl "$certs" --user "ksensor:$certs/password" \
         --set listener.name.sasl_ssl.ssl.client.auth=required | tail -n 1)
PL_B=$(cat "$KS_TMP/kafka/plaintext")
pool=mtls-$RANDOM
pl_topic "$pool-events" 1
config no-client-certificate "$certs/ca.pem" "$certs/password"
refused no-client-certificate "alert bad certificate"   # the broker refuses the handshake (TLS alert 42)
config mtls "$certs/ca.pem" "$certs/password"
sed -i "s|^    caFile: .*|&\n    certFile: \"$certs/client.crt\"\n    keyFile: \"$certs/client.key\"|" "$KS_TMP/mtls.yaml"
grep -q 'certFile:' "$KS_TMP/mtls.yaml" || pl_fail "the configuration was not edited"
pl_start_fresh w "$KS_TMP/mtls.log" "$KS_TMP/mtls.yaml"
pl_produce "$pool-events" "$KS_TMP/events.tsv"
pl_wait_count "$pool-action" 1 30
pl_stop "$w"
pl_say "mutual TLS: with the client certificate the pipeline runs; without it the worker is refused"
echo PASS
