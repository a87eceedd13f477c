#!/usr/bin/env bash
# sharectl_test.sh [EMULATOR] SHARECTL - end-to-end test of the sharectl host:
# while `sharectl hold` keeps the state alive, separate sharectl processes
# exchange values; bad input gets its exit code and changes nothing.
# Run by ctest natively and, with cmake/wine-run.sh as EMULATOR, under Wine.
set -u
if [ $# -eq 2 ]; then RUN=("$1" "$2"); else RUN=("$1"); fi
SHARECTL="${!#}"
DEMO="$(dirname "$SHARECTL")/sharedemo${SHARECTL##*sharectl}"   # .exe or not
TMP="$(mktemp -d)"
export SHARED_INSTANCE="ctltest-$$"     # POSIX: a private segment
export LC_ALL=C.UTF-8                   # arguments are UTF-8 (Wine reads them so)
pass=0 fail=0 hold_pid="" bg_pid=""

cleanup() {
    [ -n "$hold_pid" ] && kill "$hold_pid" 2>/dev/null && wait "$hold_pid" 2>/dev/null
    if [ -n "$bg_pid" ]; then       # a background holder the test started
        "${RUN[@]}" hold --stop "$bg_pid" >/dev/null 2>&1
        [ ${#RUN[@]} -eq 1 ] && kill "$bg_pid" 2>/dev/null
    fi
    rm -rf "$TMP"
    rm -f /dev/shm/shared."$SHARED_INSTANCE" /dev/shm/shared."$SHARED_INSTANCE"-* \
        2>/dev/null
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

# expect_err NAME PATTERN: the last command's stderr matches PATTERN (grep -E).
expect_err() {
    if grep -qE -- "$2" "$TMP/err"; then pass=$((pass + 1)); else
        echo "FAIL $1: stderr '$(head -c 300 "$TMP/err")' lacks /$2/"
        fail=$((fail + 1)); fi
}
# expect NAME COMMAND...: a shell condition that must hold.
expect() {
    local name="$1"; shift
    if "$@"; then pass=$((pass + 1)); else echo "FAIL $name"; fail=$((fail + 1)); fi
}

# Under Wine, behave like a Western Windows: ANSI code page 1252 (a prefix
# under a UTF-8 locale uses 65001 and would hide mangled arguments). Set once
# in the test prefix, which keeps it; the prefix's wineserver restarts.
if [ ${#RUN[@]} -eq 2 ]; then
    nls='HKLM\System\CurrentControlSet\Control\Nls\CodePage'
    if ! "${RUN[0]}" reg query "$nls" /v ACP 2>/dev/null | tr -d '\r' |
            grep -qE 'ACP.*[[:space:]]1252$'; then
        "${RUN[0]}" reg add "$nls" /v ACP /t REG_SZ /d 1252 /f >/dev/null 2>&1
        WINEPREFIX="${SHARED_WINEPREFIX:-$(cd "$(dirname "${RUN[0]}")/.." && pwd)/build/.wine}" \
            /usr/lib/wine/wineserver -k 2>/dev/null
        sleep 1
    fi
    "${RUN[0]}" reg query "$nls" /v ACP 2>/dev/null | tr -d '\r' |
        grep -qE 'ACP.*[[:space:]]1252$' || { echo "FAIL cannot set ACP 1252"; exit 1; }
fi

# 1. A writing command that created the state with no other holder says so.
check "first set, no holder" 0 -- set lonely 1
expect_err "first set warns" 'no other process'
expect_err "first set names sharectl hold" 'sharectl hold'
check "nothing kept without a holder" 3 -- get lonely
check "first add, no holder" 0 "1" -- add lonely 1
expect_err "first add warns" 'sharectl hold'
# hold --background: a holder without a second terminal.
bg_out="$(ctl hold --background --seconds 120)"; bg_rc=$?
bg_pid="$(printf '%s\n' "$bg_out" | sed -nE 's/.*pid ([0-9]+).*/\1/p' | head -n1)"
expect "hold --background exits 0 and prints its pid ($bg_out)" \
    test "$bg_rc" -eq 0 -a -n "$bg_pid"
expect "hold --background says how to stop it" grep -q -- "hold --stop" <<<"$bg_out"
check "set while held in the background" 0 -- set bg kept
expect "no warning while held" test ! -s "$TMP/err"
check "get from another process" 0 "kept" -- get bg
check "hold --stop" 0 -- hold --stop "${bg_pid:-0}"
check "stopped: the state is gone" 3 -- get bg
[ "$bg_rc" -eq 0 ] && bg_pid=""
check "hold --stop of a pid that is no holder" 3 -- hold --stop 1

# 2. and 7. Help says what the code does.
help_all="$(ctl --help)"
expect "help: POSIX lifetime" grep -q "last process to leave removes" <<<"$help_all"
expect "help: SHARED_INSTANCE rule" grep -q "SHARED_INSTANCE.*32" <<<"$help_all"
help_hold="$(ctl help hold)"
expect "help hold: no 'until removed or reboot'" \
    test -n "$help_hold" -a -z "$(grep 'reboot' <<<"$help_hold")"
expect "help hold: the last process removes it" \
    grep -q "last process to leave removes" <<<"$help_hold"
expect "help hold: --background" grep -q -- "--background" <<<"$help_hold"
"${RUN[@]:0:${#RUN[@]}-1}" "$DEMO" --help >"$TMP/demo" 2>"$TMP/err"; demo_rc=$?
demo_help="$(tr -d '\r' <"$TMP/demo")"
expect "sharedemo --help exits 0" test "$demo_rc" -eq 0
expect "sharedemo --help prints usage" grep -q "^usage: sharedemo" <<<"$demo_help"
"${RUN[@]:0:${#RUN[@]}-1}" "$DEMO" --workers 2 --ops 0 --handoffs 40 2>&1 |
    tr -d '\r' >"$TMP/demo"
# Every progress line's percentage is all the work done: ops and hand-offs.
bad_pct="$(sed -nE 's/.*\] +([0-9]+)%  ops ([0-9]+)\/([0-9]+)  hand-offs ([0-9]+)\/([0-9]+).*/\1 \2 \3 \4 \5/p' "$TMP/demo" |
    while read -r pct o ow h hw; do
        want=$(( (ow + hw) ? (o + h) * 100 / (ow + hw) : 100 ))
        [ "$pct" -eq "$want" ] || echo "$pct% for ops $o/$ow hand-offs $h/$hw"
    done)"
expect "sharedemo progress counts hand-offs ($bad_pct)" \
    test -z "$bad_pct" -a -n "$(grep -c 'hand-offs' "$TMP/demo" | grep -v '^0$')"

# 5. Numbers: range-checked with the range in the message.
check "--timeout too large" 2 -- stats --timeout 99999999999
expect_err "--timeout names its range" '--timeout.*0\.\.[0-9]+'
check "hold --seconds overflow" 2 -- hold --seconds 9223372036854775807
expect_err "--seconds names its range" '--seconds.*0\.\.[0-9]+'
check "watch --seconds overflow" 2 -- watch --seconds 9223372036854775807
check "watch --count negative" 2 -- watch --count -1
expect_err "--count names its range" '--count.*0\.\.[0-9]+'
check "add beyond int64" 2 -- add n 9223372036854775808
expect_err "add names its range" '9223372036854775807'

# 6. An invalid SHARED_INSTANCE is named as such (POSIX; Windows has none).
if [ ${#RUN[@]} -eq 1 ]; then
    SHARED_INSTANCE='bad/name' ctl get k >/dev/null; rc=$?
    expect "invalid SHARED_INSTANCE is usage" test "$rc" -eq 2
    expect_err "invalid SHARED_INSTANCE named" 'SHARED_INSTANCE.*32'
fi

# Keep the state alive (on Windows it lives only while the DLL is loaded),
# for as long as the test may run (its ctest timeout; killed at exit): under
# qemu-i386 emulation (mingw-x86) the script takes longer than 120 s.
"${RUN[@]}" hold --seconds 600 >"$TMP/hold" 2>&1 &
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

# 3. Text: UTF-8 arguments, JSON and console output.
check "set ключ" 0 -- set ключ one
check "set окно" 0 -- set окно two
check "ключ and окно are distinct keys" 0 "one" -- get ключ
check "окно kept" 0 "two" -- get окно
check "set café" 0 -- set cafe café
expect "café round-trips as 5 bytes" \
    test "$("${RUN[@]}" get cafe --raw 2>/dev/null | wc -c)" -eq 5
check "café shown as text" 0 "café" -- get cafe
# JSON without the version (it depends on what ran before).
json() { ctl "$@" | sed -E 's/"version":[0-9]+,//'; }
expect "get --json is UTF-8" test "$(json get cafe --json)" = \
    '{"key":"cafe","type":"bytes","length":5,"value":"café"}'
expect "UTF-8 key in JSON" test "$(json get ключ --json)" = \
    '{"key":"ключ","type":"bytes","length":3,"value":"one"}'
check "control bytes" 0 -- set ctl "$(printf 'a\001b"\\')"
expect "JSON escapes only controls, quote, backslash" \
    test "$(json get ctl --json)" = \
    '{"key":"ctl","type":"bytes","length":5,"value":"a\u0001b\"\\"}'
expect "binary value as value_base64" test "$(json get bin --json)" = \
    '{"key":"bin","type":"bytes","length":9,"value_base64":"YmluAGFyef8K"}'
expect "list shows UTF-8 keys" grep -q "^ключ" <<<"$(ctl list)"
# On a console (a pseudo-terminal; Wine gives the program a console) the
# text shows as text, not as the ANSI code page's '?'.
if [ ${#RUN[@]} -eq 2 ] && command -v script >/dev/null; then
    # Wine's console draws with escape sequences, anywhere in the text.
    tty_out="$(script -qec "$(printf '%q ' "${RUN[@]}") get no-ключ" /dev/null \
        </dev/null 2>&1 | sed 's/\x1b\[[?0-9;]*[a-zA-Z]//g')"
    expect "console shows UTF-8 text ($(head -c 200 <<<"$tty_out"))" \
        grep -q "no-ключ" <<<"$tty_out"
fi

# 4. Strict options.
check "single-dash flag is not a value" 2 -- set k -v
check "-- ends options" 0 -- set -- k -v
check "value after --" 0 "-v" -- get -- k
check "irrelevant option: get --count" 2 -- get k --count 5
expect_err "get --count named" '--count'
check "irrelevant option: del --yes" 2 -- del k --yes
check "conflicting --json --raw" 2 -- get k --json --raw
expect_err "conflict named" '--json.*--raw|--raw.*--json'
check "option before the command" 2 -- --json get k

# 6. Messages that name the real limit.
check "oversize message arg" 2 -- send jobs "$(printf 'm%.0s' $(seq 1 2000))"
expect_err "oversize message names SHARED_MSG_MAX" 'SHARED_MSG_MAX'
expect "oversize message does not name SHARED_VALUE_MAX" \
    test -z "$(grep SHARED_VALUE_MAX "$TMP/err")"
printf 'm%.0s' $(seq 1 2000) >"$TMP/bigmsg"
check "oversize message file" 2 -- send jobs --file "$TMP/bigmsg"
expect_err "oversize message file names SHARED_MSG_MAX" 'SHARED_MSG_MAX'
filled=0
for i in $(seq 1 16); do
    ctl send full "m$i" >/dev/null; rc=$?
    if [ "$rc" -eq 0 ]; then filled=$((filled + 1)); else
        echo "send m$i to fill the channel: exit $rc ($(head -c 300 "$TMP/err"))"
    fi
done
expect "16 sends fill the channel ($filled sent)" test "$filled" -eq 16
check "send to a full channel" 5 -- send full more --timeout 0
expect_err "full channel names SHARED_CHANNEL_DEPTH" 'SHARED_CHANNEL_DEPTH'
expect "full channel is not a full table" \
    test -z "$(grep SHARED_MAX_KEYS "$TMP/err")"

# A damaged slot (POSIX: one byte of its value changed in the shared
# memory object, found by its key bytes): list and dump still show the
# readable keys, warn on stderr and exit 0; set replaces the damaged key.
shm="$(ls /dev/shm/shared."$SHARED_INSTANCE" 2>/dev/null | head -n1)"
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

# Homes: --instance NAME is a state of its own, beside SHARED_INSTANCE's;
# --readonly reads a published instance and refuses every write; --file
# keeps the state in a file after every process exited.
inst="$SHARED_INSTANCE-b"
check "--instance with a bad name is usage" 2 -- --instance 'a/b' get k
expect_err "bad instance name explained" 'not a valid instance name'
check "--readonly without a home is usage" 2 -- --readonly get k
check "--readonly of a missing instance is not found" 3 -- \
    --instance "$inst" --readonly get k
expect_err "missing instance named" 'SHARED_ENOINSTANCE'
check "set in the default home" 0 -- set home.k default
"${RUN[@]}" --instance "$inst" --published hold --seconds 60 \
    >"$TMP/ihold" 2>&1 &
ihold=$!
for _ in $(seq 1 100); do grep -q holding "$TMP/ihold" && break; sleep 0.1; done
check "--instance set" 0 -- --instance "$inst" --published set home.k named
check "--instance get" 0 "named" -- --instance "$inst" --published get home.k
check "the default home is apart" 0 "default" -- get home.k
check "--readonly get" 0 "named" -- --instance "$inst" --readonly get home.k
check "--readonly set is refused" 7 -- --instance "$inst" --readonly set home.k x
expect_err "read-only write is SHARED_EACCESS" 'SHARED_EACCESS'
check "--readonly add is refused" 7 -- --instance "$inst" --readonly add n 1
check "--readonly list" 0 -- --instance "$inst" --readonly list
check "unchanged by the reader" 0 "named" -- \
    --instance "$inst" --published get home.k
check "flush of a named instance is usage" 2 -- \
    --instance "$inst" --published flush
kill "$ihold" 2>/dev/null; wait "$ihold" 2>/dev/null
if [ ${#RUN[@]} -eq 1 ]; then   # native: a POSIX path
    state="$TMP/state.shared"
    check "--file set" 0 -- --file "$state" set f.k kept
    check "--file add" 0 "5" -- --file "$state" add f.n 5
    check "--file flush" 0 -- --file "$state" flush
    check "--file keeps values" 0 "kept" -- --file "$state" get f.k
    check "--file --readonly get" 0 "5" -- --file "$state" --readonly get f.n
    check "--file --readonly del is refused" 7 -- \
        --file "$state" --readonly del f.k
    printf 'not a state file' >"$TMP/foreign"
    check "--file of a foreign file" 6 -- --file "$TMP/foreign" get k
    expect_err "foreign file is SHARED_EVERSION" 'SHARED_EVERSION'
    expect "foreign file left alone" \
        test "$(cat "$TMP/foreign")" = 'not a state file'
fi

echo "sharectl: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
