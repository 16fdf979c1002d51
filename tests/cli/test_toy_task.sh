#!/usr/bin/env bash
# A task registered only by the test build (tests/cli/toy_task) goes through the real command line:
# train (with a task option and a resume), eval of the checkpoint (with a task flag), predict, and
# scoring of the predictions, with no line of apps/ or lib/train naming it. The stock binary does not
# know it, and a flag of another task is refused for it.
# Needs LIDERE_BIN, LIDERE_TOY_BIN and LIDERE_SOURCE_DIR (set by CTest) and the sample photos.
set -u
bin="${LIDERE_BIN:?LIDERE_BIN not set}"
toy="${LIDERE_TOY_BIN:?LIDERE_TOY_BIN not set}"
src="${LIDERE_SOURCE_DIR:?LIDERE_SOURCE_DIR not set}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
expect() {  # NAME EXPECTED_CODE PATTERN -- command...
  local name=$1 code=$2 pattern=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $rc -eq $code ]] && grep -qE -- "$pattern" <<<"$out"; then pass; else
    fail "$name: exit $rc (want $code), output:"; tail -n 8 <<<"$out"
  fi
}

photos=$(bash "$src/scripts/sample_photos.sh") || { echo "FAIL: no sample photos"; exit 1; }
"$bin" sample-data --photos "$src/$photos" --out "$tmp/data" --train 8 --val 4 --size 64 2>/dev/null ||
  { echo "FAIL: sample-data"; exit 1; }
runs="$tmp/runs"
common=(--task toy --data "$tmp/data" --imgsz 64 --batch 4 --set val_every=3 --set workers=1 --set lr=0.01 --project "$runs")

expect toy-train 0 '"within_tolerance"' -- "$toy" train "${common[@]}" --iterations 6 --set task.weight=0.5 --json -q
run="$runs/toy/train"
for f in config.json metrics.csv log.txt results.png eval_val.json toy_report_val.txt weights/best.safetensors; do
  [[ -s "$run/$f" ]] && pass || fail "toy run lacks $f"
done
grep -q '"weight": 0.5' "$run/config.json" && pass || fail "config.json lacks the task option"
grep -q 'heads luma(1), inverse(1)' "$run/log.txt" && pass || fail "log.txt does not show the two heads"
expect toy-resume 0 '' -- "$toy" train --resume "$run" --set iterations=9 -q
[[ $(tail -n 1 "$run/metrics.csv" | cut -d, -f1) == 9 ]] && pass || fail "resumed toy run did not reach 9"

expect toy-eval 0 '"tolerance": 0.2' -- "$toy" eval --weights "$run" --data "$tmp/data" --tolerance 0.2 --out "$tmp/eval" --json -q
[[ -s "$tmp/eval/eval_val.json" && -s "$tmp/eval/toy_report_val.txt" ]] && pass || fail "toy eval files"
expect toy-predict 0 '"luma"' -- "$toy" predict "$tmp/data/val/images" --weights "$run" --out "$tmp/pred" --json -q
n=$(ls "$tmp/pred/luma" | wc -l); [[ $n -eq 4 ]] && pass || fail "toy predict wrote $n maps, not 4"
expect toy-score 0 '"within_tolerance"' -- "$toy" eval --task toy --pred "$tmp/pred/luma" --gt "$tmp/data/val/images" --json -q

expect stock-binary 2 "unknown task 'toy'" -- "$bin" train "${common[@]}" --iterations 2 -q
expect foreign-flag 2 "--tile is an option of task boundary, not of 'toy'" -- "$toy" predict "$tmp/data/val/images" \
  --weights "$run" --tile 50 --out "$tmp/pred2" -q
expect bad-option 2 "task 'toy' has no option 'tile'" -- "$toy" train "${common[@]}" --iterations 2 --set task.tile=3 -q

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
