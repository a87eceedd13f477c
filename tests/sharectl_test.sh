#!/usr/bin/env bash
# sharectl_test.sh [EMULATOR] SHARECTL - end-to-end test of the sharectl host:
# while `sharectl hold` keeps the state alive, separate sharectl processes
# exchange values; bad input gets its exit code and changes nothing.
# Run by ctest natively and, with cmake/wine-run.sh as EMULATOR, under Wine.
set -u
if [ $# -eq 2 ]; then RUN=("$1" "$2"); else RUN=("$1"); fi
TMP="$(mktemp -d)"
export SHARED_INSTANCE="ctltest-$$"     # POSIX: a private segment
pass=0 fail=0 hold_pid=""

cleanup() {
    [ -n "$hold_pid" ] && kill "$hold_pid" 2>/dev/null && wait "$hold_pid" 2>/dev/null
    rm -rf "$TMP"
    rm -f /dev/shm/shared-*-"$SHARED_INSTANCE" 2>/dev/null
}
trap cleanup EXIT

ctl() { "${RUN[@]}" "$@" 2>"$TMP/err" | tr -d '\r'; return "${PIPESTATUS[0]}"; }

# check NAME WANT_RC [WANT_OUT] -- ARGS: run sharectl, compare exit code/output.
check() {
    local name="$1" want_rc="$2" want_out="__any__"
    shift 2
    if [ "$1" != "--" ]; then want_out="$1"; shift; fi
    shift
    local out rc
    out="$(ctl "$@")"; rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        echo "FAIL $name: exit $rc, expected $want_rc ($(head -c 300 "$TMP/err"))"
        fail=$((fail + 1)); return
    fi
    if [ "$want_out" != "__any__" ] && [ "$out" != "$want_out" ]; then
        echo "FAIL $name: printed '$out', expected '$want_out'"
        fail=$((fail + 1)); return
    fi
    pass=$((pass + 1))
}

# Keep the state alive (on Windows it lives only while the DLL is loaded).
"${RUN[@]}" hold --seconds 120 >"$TMP/hold" 2>&1 &
hold_pid=$!
for _ in $(seq 1 300); do grep -q holding "$TMP/hold" && break; sleep 0.1; done
grep -q holding "$TMP/hold" || { echo "FAIL hold never started"; exit 1; }

check "set then get in another process" 0 "" -- set greeting "hello world"
check "get" 0 "hello world" -- get greeting
check "get --json" 0 '{"key":"greeting","type":"bytes","version":1,"length":11,"value":"hello world"}' -- get greeting --json
check "get --version" 0 "1" -- get greeting --version
check "add creates" 0 "5" -- add hits 5
check "add negative" 0 "2" -- add hits -3
check "add non-numeric is usage" 2 -- add hits abc
check "counter unchanged" 0 "2" -- get hits
check "add to bytes is a type error" 9 -- add greeting 1
check "cas wrong version" 8 -- cas greeting 999 nope
check "cas right version" 0 "4" -- cas greeting 1 hi
check "cas 0 on existing key" 8 -- cas greeting 0 x
check "value after cas" 0 "hi" -- get greeting
check "missing key" 3 -- get nothing-here
check "del" 0 -- del greeting
check "del again" 3 -- del greeting
check "no arguments" 2 -- get
check "set without value" 2 -- set k
check "unknown command" 2 -- frobnicate
check "unknown option" 2 -- get k --frob
check "empty key" 2 -- set "" v
check "oversize key" 2 -- set "$(printf 'k%.0s' $(seq 1 64))" v
head -c 1025 /dev/zero >"$TMP/big"
check "oversize value file" 2 -- set big --file "$TMP/big"
check "oversize value arg" 2 -- set big "$(printf 'v%.0s' $(seq 1 1025))"
check "nothing was stored" 3 -- get big
check "reset needs --yes" 2 -- reset
check "keys survive a refused reset" 0 "2" -- get hits
printf 'bin\0ary\377\n' >"$TMP/bin"
check "binary from stdin" 0 -- set bin - <"$TMP/bin"
"${RUN[@]}" get bin --raw >"$TMP/bin.out" 2>/dev/null
if cmp -s "$TMP/bin" "$TMP/bin.out"; then pass=$((pass + 1)); else
    echo "FAIL binary round trip"; fail=$((fail + 1)); fi
check "binary shown escaped" 0 'bin\x00ary\xff\x0a' -- get bin
# bin took the slot greeting left; versions: hits 2-3, cas 4, del 5, bin 6.
check "list" 0 "$(printf 'bin\tbytes\t9\tv6\tbin\\x00ary\\xff\\x0a\nhits\tcounter\t8\tv3\t2')" -- list
check "stats" 0 -- stats --json
check "dump" 0 -- dump

# watch wakes on a change made by another process.
"${RUN[@]}" watch hits --count 1 --seconds 60 >"$TMP/watch" 2>&1 &
watch_pid=$!
sleep 2
check "add while watching" 0 "3" -- add hits 1
if wait "$watch_pid" && tr -d '\r' <"$TMP/watch" | grep -q '^hits = 3  (v'; then
    pass=$((pass + 1)); else echo "FAIL watch: $(cat "$TMP/watch")"; fail=$((fail + 1)); fi

# Channels and peers, across separate sharectl processes.
check "send" 0 -- send jobs "first job"
check "send another" 0 -- send jobs second
check "recv in another process" 0 "first job" -- recv jobs
check "recv --json" 0 '{"channel":"jobs","length":6,"message":"second"}' -- recv jobs --json
check "recv on empty channel times out" 4 -- recv jobs --timeout 0
check "oversize message" 2 -- send jobs "$(printf 'm%.0s' $(seq 1 300))"
check "send without message" 2 -- send jobs
if ctl peers | grep -q "sharectl"; then pass=$((pass + 1)); else
    echo "FAIL peers: $(ctl peers)"; fail=$((fail + 1)); fi
if ctl stats | grep -q "channel jobs: depth 0/16, sent 2, received 2"; then
    pass=$((pass + 1)); else echo "FAIL stats channels"; fail=$((fail + 1)); fi

# A damaged slot (POSIX: one byte of its value changed in the shared
# memory object, found by its key bytes): list and dump still show the
# readable keys, warn on stderr and exit 0; set replaces the damaged key.
shm="$(ls /dev/shm/shared-*-"$SHARED_INSTANCE" 2>/dev/null | head -n1)"
if [ -n "$shm" ]; then
    check "set a key to damage" 0 -- set dmg.key "some value"
    off="$(grep -obUa 'dmg\.key' "$shm" | head -n1 | cut -d: -f1)"
    # The value follows the key's 64 bytes.
    printf 'X' | dd of="$shm" bs=1 seek=$((off + 64)) conv=notrunc 2>/dev/null
    check "get of the damaged key" 6 -- get dmg.key
    check "list with a damaged slot" 0 -- list
    if ctl list | grep -q '^hits' && grep -q 'warning: corrupt' "$TMP/err"; then
        pass=$((pass + 1)); else
        echo "FAIL list: readable keys and a warning expected"
        fail=$((fail + 1)); fi
    check "dump with a damaged slot" 0 -- dump
    if grep -q 'warning: 1 corrupt' "$TMP/err"; then pass=$((pass + 1)); else
        echo "FAIL dump warning: $(cat "$TMP/err")"; fail=$((fail + 1)); fi
    check "set replaces the damaged key" 0 -- set dmg.key fixed
    check "get after set" 0 "fixed" -- get dmg.key
fi

check "reset --yes" 0 -- reset --yes
check "list after reset" 0 "" -- list

echo "sharectl: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
