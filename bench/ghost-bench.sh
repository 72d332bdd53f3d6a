#!/usr/bin/env bash
# Ghost image benchmark (PRODUCT.md §5), run as root on Linux:
#   capture of a 1 GiB ext4 image half full of studio data vs partclone.ext4 and restic --stdin,
#   NTFS image capture vs ntfsclone --save-image, second capture after a 5 % change vs restic's
#   second run, restore vs dd. Prints wall times and ratios (>1 = NekkBackup faster / smaller).
# The engine is driven through tests/NekkBackup.GhostHost (one process per step; its own start-up,
# ~0.1 s, is included in the wall time and also reported without it as "engine").
# Usage: sudo bench/ghost-bench.sh [WORK_DIR]   (needs ~6 GB free; BENCH_DATA_MB=500 by default)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
gen="$root/out/studiogen/studiogen.dll"   # the project's sample-data generator
work="${1:-/tmp/nekk-ghost-bench}"
data_mb="${BENCH_DATA_MB:-500}"
export RESTIC_PASSWORD=nekk-bench
rm -rf "$work"; mkdir -p "$work"; cd "$work"

dotnet build "$root/tests/NekkBackup.GhostHost" -c Release -v q -o "$work/host" >/dev/null
[[ -f "$gen" ]] || dotnet build "$root/tests/NekkBackup.StudioGen" -c Release -v q >/dev/null
H=(dotnet "$work/host/NekkBackup.GhostHost.dll")

drop() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
now() { date +%s.%N; }
# t NAME CMD... : runs CMD with caches dropped and records wall seconds in T[NAME] and CPU seconds
# (user+sys, children included) in C[NAME]. CPU time is the fair comparison on a shared, loaded machine.
declare -A T C
t() {
  local name=$1; shift; drop
  /usr/bin/time -f "%e %U %S" -o "time.$name" "$@"
  read -r w u s < "time.$name"; T[$name]=$w; C[$name]=$(echo "$u + $s" | bc -l)
}
# Copy tools that do not fsync get a final `sync` inside the timing: every step ends with data on disk
# (the engine syncs the repository before committing an image).
# json FILE KEY: the first value of "KEY" in the host's (indented) JSON output.
json() { sed -n "s/.*\"$2\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$1" | head -n 1; }
ratio() { echo "scale=2; $1 / ($2 + 0.001)" | bc -l; }

echo "== building a 1 GiB ext4 image with ${data_mb} MB of studio data"
truncate -s 1G ext4.img; mkfs.ext4 -q -F ext4.img; mkdir -p mnt
mount -o loop ext4.img mnt; dotnet "$gen" gen "$work/mnt/studio" "$data_mb" --seed 1 >/dev/null; umount mnt

t ghost1   "${H[@]}" capture ext4.img repo > cap1.json
t partclone sh -c 'partclone.ext4 -c -s ext4.img -o ext4.pc -q >/dev/null 2>&1; sync'
restic init -q -r restic >/dev/null
t restic1  sh -c 'restic -q -r restic backup --stdin --stdin-filename ext4.img < ext4.img >/dev/null'
restic_size1=$(du -sb restic | cut -f1)

echo "== 5 % change"
mount -o loop ext4.img mnt; dotnet "$gen" mutate "$work/mnt/studio" 5 --seed 2 >/dev/null; umount mnt
repo_before=$(du -sb repo | cut -f1)
t ghost2   "${H[@]}" capture ext4.img repo > cap2.json
repo_after=$(du -sb repo | cut -f1)
t restic2  sh -c 'restic -q -r restic backup --stdin --stdin-filename ext4.img < ext4.img >/dev/null'
restic_size2=$(du -sb restic | cut -f1)

id2=$(json cap2.json ImageId)
t restore  "${H[@]}" restore repo "$id2" restored.img > restore.json
t dd       dd if=ext4.img of=dd.img bs=4M conv=fsync status=none
cmp -s restored.img ext4.img && restore_ok=bit-identical || restore_ok=DIFFERENT
t drill    "${H[@]}" test repo --full "$id2" > drill.json

echo "== NTFS: 1 GiB image with ${data_mb} MB"
truncate -s 1G ntfs.img; mkntfs -q -F -f ntfs.img; ntfs-3g ntfs.img mnt
dotnet "$gen" gen "$work/mnt/studio" "$data_mb" --seed 3 >/dev/null; umount mnt
t ghostntfs "${H[@]}" capture ntfs.img repo-ntfs > capn.json
t ntfsclone sh -c 'ntfsclone --save-image -q -f -o ntfs.clone ntfs.img >/dev/null 2>&1; sync'
t ghostnone "${H[@]}" capture ext4.img repo-none --compression None > capnone.json

s1=$(json cap1.json StoredBytes); n1=$(json cap1.json NewBytes)
n2=$(json cap2.json NewBytes)
cat <<REPORT

Ghost image benchmark — $(date -u +%FT%TZ), $(nproc) cores, data ${data_mb} MB in 1 GiB volumes
step                         seconds   (engine only)
capture ext4 (1st)           ${T[ghost1]}  ($(json cap1.json engineSeconds))
partclone.ext4 -c            ${T[partclone]}
restic backup --stdin (1st)  ${T[restic1]}
capture ext4 (after 5 %)     ${T[ghost2]}  ($(json cap2.json engineSeconds))
restic backup --stdin (2nd)  ${T[restic2]}
restore (raw file)           ${T[restore]}  ($(json restore.json engineSeconds))  ${restore_ok}
dd bs=4M conv=fsync          ${T[dd]}
restore drill (Test -Full)   ${T[drill]}
capture NTFS                 ${T[ghostntfs]}  ($(json capn.json engineSeconds))
ntfsclone --save-image       ${T[ntfsclone]}

capture ext4 (1st), Compression None  ${T[ghostnone]}  stored $(json capnone.json StoredBytes) B vs Zstd $(json cap1.json StoredBytes) B

CPU seconds (user+sys): ghost1 ${C[ghost1]} partclone ${C[partclone]} restic1 ${C[restic1]} ghost2 ${C[ghost2]} restic2 ${C[restic2]}
                        restore ${C[restore]} dd ${C[dd]} ghostntfs ${C[ghostntfs]} ntfsclone ${C[ntfsclone]} ghostnone ${C[ghostnone]}
load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)

ratios (>1 = NekkBackup better)            wall    cpu
capture vs partclone.ext4                 $(ratio ${T[partclone]} ${T[ghost1]})    $(ratio ${C[partclone]} ${C[ghost1]})
capture vs restic --stdin                 $(ratio ${T[restic1]} ${T[ghost1]})    $(ratio ${C[restic1]} ${C[ghost1]})
1st / 2nd capture speed-up (target >= 3)  $(ratio ${T[ghost1]} ${T[ghost2]})    $(ratio ${C[ghost1]} ${C[ghost2]})
2nd vs restic 2nd                         $(ratio ${T[restic2]} ${T[ghost2]})    $(ratio ${C[restic2]} ${C[ghost2]})
restore vs dd                             $(ratio ${T[dd]} ${T[restore]})    $(ratio ${C[dd]} ${C[restore]})
NTFS capture vs ntfsclone                 $(ratio ${T[ntfsclone]} ${T[ghostntfs]})    $(ratio ${C[ntfsclone]} ${C[ghostntfs]})
stored: 1st capture ${s1} B (new ${n1}), 2nd new ${n2} B = $(echo "scale=2; 100 * $n2 / $n1" | bc -l) % (target < 10 %)
repository on disk grew $(( repo_after - repo_before )) B on the 2nd capture; restic grew $(( restic_size2 - restic_size1 )) B (1st ${restic_size1} B)
partclone image $(stat -c %s ext4.pc) B; ntfsclone image $(stat -c %s ntfs.clone) B
REPORT
