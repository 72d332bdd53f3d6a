#!/usr/bin/env bash
# Cloud upload benchmark: our engine (tests/NekkBackup.CloudHost, a console host around CloudBackupEngine) against
# `rclone copy` to the same local s3rver, in the same run, on (1) the studio dataset and (2) one big file.
# Reports seconds, MB/s, the ratio rclone-time / our-time (>= 1: we are at least as fast) and our peak working
# set (VmHWM of the host process, read from /proc/self/status at exit; target < 300 MB whatever the file size).
# s3rver (one node process) is the bottleneck on this machine: compare the two clients, not absolute numbers.
# Usage: bench/cloud-bench.sh [DATASET_MB=1024] [BIG_GIB=4]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GEN=$ROOT/out/studiogen/studiogen.dll   # the project's sample-data generator
DATASET_MB=${1:-1024}
BIG_GIB=${2:-4}
WORK=${NEKK_BENCH_DIR:-/tmp/nekk-cloud-bench}
S3JS=${NEKKBACKUP_S3RVER:-$HOME/.cache/nekkbackup-s3rver/node_modules/s3rver/bin/s3rver.js}

rm -rf "$WORK"; mkdir -p "$WORK"/{s3,src,big,journal}
[ -f "$S3JS" ] || npm install --no-audit --no-fund --prefix "$HOME/.cache/nekkbackup-s3rver" s3rver@3.7.1 >/dev/null
echo "Building the console host (Release)…"
dotnet build "$ROOT/tests/NekkBackup.CloudHost" -c Release -o "$WORK/host" -v q -nologo >/dev/null
[ -f "$GEN" ] || dotnet build "$ROOT/tests/NekkBackup.StudioGen" -c Release -v q -nologo >/dev/null

PORT=$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
node --openssl-legacy-provider "$S3JS" -d "$WORK/s3" -p "$PORT" -a 127.0.0.1 -s \
  --configure-bucket ours >/dev/null 2>&1 &
S3PID=$!
trap 'kill $S3PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
ENDPOINT="http://127.0.0.1:$PORT"
cat > "$WORK/rclone.conf" <<CONF
[s3]
type = s3
provider = Other
access_key_id = S3RVER
secret_access_key = S3RVER
endpoint = $ENDPOINT
CONF
# rclone 1.60 refuses to start when AWS_CA_BUNDLE is set (field-notes.md).
rcl() { env -u AWS_CA_BUNDLE rclone --config "$WORK/rclone.conf" "$@"; }
rcl mkdir s3:ours >/dev/null 2>&1 || true
rcl mkdir s3:theirs >/dev/null 2>&1 || true

echo "Generating a $DATASET_MB MB studio dataset and a $BIG_GIB GiB file…"
dotnet "$GEN" gen "$WORK/src/Sessions" "$DATASET_MB" --seed 1 >/dev/null
head -c "$((BIG_GIB * 1024))M" /dev/urandom > "$WORK/big/huge.bin"

drop() { if [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/drop_caches ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi; }
now() { date +%s.%N; }
bytes() { du -sb "$1" | cut -f1; }

ours() { # $1 = source dir, $2 = prefix
  drop
  local t0 t1 out
  t0=$(now)
  out=$(NEKKBACKUP_DATA="$WORK/data" dotnet "$WORK/host/NekkBackup.CloudHost.dll" send --endpoint "$ENDPOINT" --bucket ours \
        --prefix "$2" --path "$1" --journal "$WORK/journal" --throttle 4 2>"$WORK/ours.err")
  t1=$(now)
  OURS_S=$(echo "$t1 - $t0" | bc -l)
  OURS_HWM_KB=$(grep -o 'VmHWM_KB=[0-9]*' "$WORK/ours.err" | cut -d= -f2)
  echo "$out" | grep -q '"Status":"Succeeded"' || { echo "our run failed: $out $(cat "$WORK/ours.err")"; exit 1; }
}

theirs() { # $1 = source dir, $2 = dest path; samples rclone's VmHWM while it runs
  drop
  local t0 t1 pid hwm=0
  t0=$(now)
  # env execs rclone in place, so $! is rclone's own pid (a shell function would put a subshell there).
  env -u AWS_CA_BUNDLE rclone --config "$WORK/rclone.conf" copy "$1" "s3:theirs/$2" & pid=$!
  while kill -0 $pid 2>/dev/null; do
    h=$(grep VmHWM /proc/$pid/status 2>/dev/null | awk '{print $2}') || true
    [ -n "${h:-}" ] && [ "$h" -gt "$hwm" ] && hwm=$h
    sleep 0.2
  done
  wait $pid
  t1=$(now)
  RC_S=$(echo "$t1 - $t0" | bc -l)
  RC_HWM_KB=$hwm
}

report() { # name bytes
  local mb=$(echo "$2 / 1000000" | bc -l)
  printf '%-22s ours %7.1f s %6.1f MB/s  peak %5.0f MB | rclone %7.1f s %6.1f MB/s  peak %5.0f MB | ratio rclone/ours %.2f\n' \
    "$1" "$OURS_S" "$(echo "$mb / $OURS_S" | bc -l)" "$(echo "$OURS_HWM_KB / 1024" | bc -l)" \
    "$RC_S" "$(echo "$mb / $RC_S" | bc -l)" "$(echo "$RC_HWM_KB / 1024" | bc -l)" "$(echo "$RC_S / $OURS_S" | bc -l)"
}

# s3rver's state and the disk's write-back make whichever client runs second faster or slower: each workload
# runs ours, rclone, rclone, ours (ABBA) to fresh prefixes and the means are compared.
abba() { # name dir bytes
  local o1 o2 r1 r2 hwm1 hwm2 rh1 rh2
  ours "$2" "$1-a"; o1=$OURS_S; hwm1=$OURS_HWM_KB
  theirs "$2" "$1-a"; r1=$RC_S; rh1=$RC_HWM_KB
  theirs "$2" "$1-b"; r2=$RC_S; rh2=$RC_HWM_KB
  ours "$2" "$1-b"; o2=$OURS_S; hwm2=$OURS_HWM_KB
  echo "  runs: ours $o1 s, $o2 s; rclone $r1 s, $r2 s"
  OURS_S=$(echo "($o1 + $o2) / 2" | bc -l); RC_S=$(echo "($r1 + $r2) / 2" | bc -l)
  OURS_HWM_KB=$(( hwm1 > hwm2 ? hwm1 : hwm2 )); RC_HWM_KB=$(( rh1 > rh2 ? rh1 : rh2 ))
}

echo "== cloud upload to s3rver on 127.0.0.1 (same run, same data; mean of ours,rclone,rclone,ours)"
DS_BYTES=$(bytes "$WORK/src/Sessions")
abba ds "$WORK/src/Sessions"
report "studio ${DATASET_MB} MB ($(find "$WORK/src/Sessions" -type f | wc -l) files)" "$DS_BYTES"
BIG_BYTES=$(bytes "$WORK/big")
abba big "$WORK/big"
report "one ${BIG_GIB} GiB file" "$BIG_BYTES"
echo "(peak = VmHWM, the process's peak resident set; target for ours: < 300 MB)"
