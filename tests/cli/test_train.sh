#!/usr/bin/env bash
# train / eval / predict end to end on a tiny generated dataset: a SIGKILLed run resumes to the
# same metrics as an uninterrupted one, bad inputs give errors naming the file, and predict writes
# one mask per image at its original size for a folder of mixed sizes and formats.
# Needs LIDERE_BIN and LIDERE_SOURCE_DIR (set by CTest) and the sample photos that
# scripts/bootstrap.sh unpacks (scripts/sample_photos.sh).
set -u
bin="${LIDERE_BIN:?LIDERE_BIN not set}"
src="${LIDERE_SOURCE_DIR:?LIDERE_SOURCE_DIR not set}"
py="${LIDERE_PYTHON:-python3}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

# expect NAME EXPECTED_CODE PATTERN -- command...
expect() {
  local name=$1 code=$2 pattern=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $rc -eq $code ]] && grep -qE -- "$pattern" <<<"$out"; then pass; else
    fail "$name: exit $rc (want $code), output:"; tail -n 8 <<<"$out"
  fi
}

# The boundary part reads BSDS500 from ../shared: without it this test skips (CTest: 77), but not
# under CI=true, where every data set must be there.
if [[ ! -d "${LIDERE_SHARED_DIR:-}/datasets/bsds500/bench" ]]; then
  [[ "${CI:-}" == true ]] && { echo "FAIL: CI=true, but ../shared/datasets/bsds500 is missing"; exit 1; }
  echo "SKIPPED: no ../shared/datasets/bsds500"; exit 77
fi
photos=$(bash "$src/scripts/sample_photos.sh") || { echo "FAIL: no sample photos"; exit 1; }
photos="$src/$photos"
"$bin" sample-data --photos "$photos" --out "$tmp/data" --train 8 --val 4 --size 96 2>/dev/null || { echo "FAIL: sample-data"; exit 1; }
common=(--data "$tmp/data" --imgsz 64 --batch 4 --set val_every=5 --set workers=1 --set lr=0.01 --project "$tmp/runs" -q)

# --- exact resume after SIGKILL ----------------------------------------------------------------
"$bin" train "${common[@]}" --iterations 30 --name whole || fail "uninterrupted run"
"$bin" train "${common[@]}" --iterations 30 --name killed &
pid=$!
killed_at=""
for _ in $(seq 1 600); do
  if [[ -f "$tmp/runs/seg/killed/weights/last.safetensors" ]]; then kill -9 $pid; killed_at=yes; break; fi
  sleep 0.05
done
wait $pid 2>/dev/null
rows=$(($(wc -l <"$tmp/runs/seg/killed/metrics.csv") - 1))
if [[ -n $killed_at && $rows -lt 6 ]]; then pass; else fail "the run was not killed part-way ($rows rows)"; fi
expect resume 0 '' -- "$bin" train --resume "$tmp/runs/seg/killed" -q
# Every column but the wall-clock seconds must agree, row for row.
if diff <(cut -d, -f1-7 "$tmp/runs/seg/whole/metrics.csv") <(cut -d, -f1-7 "$tmp/runs/seg/killed/metrics.csv") >/dev/null; then
  pass
else
  fail "resumed metrics differ:"; paste -d'|' "$tmp/runs/seg/whole/metrics.csv" "$tmp/runs/seg/killed/metrics.csv"
fi
expect resume-done 2 'already has 30 of 30 iterations' -- "$bin" train --resume "$tmp/runs/seg/killed" -q
expect resume-extend 0 '' -- "$bin" train --resume "$tmp/runs/seg/killed" --set iterations=35 -q
[[ $(tail -n 1 "$tmp/runs/seg/killed/metrics.csv" | cut -d, -f1) == 35 ]] && pass || fail "extended run did not reach 35"
for f in config.json metrics.csv log.txt results.png confusion_val.csv confusion_val.png eval_val.json weights/best.safetensors; do
  [[ -s "$tmp/runs/seg/whole/$f" ]] && pass || fail "run folder lacks $f"
done
expect json-summary 0 '"best_iteration"' -- "$bin" train "${common[@]}" --iterations 5 --name json --json

# --- eval and predict ------------------------------------------------------------------------
expect eval 0 '"mIoU"' -- "$bin" eval --weights "$tmp/runs/seg/whole" --data "$tmp/data" --out "$tmp/eval" --json -q
[[ -s "$tmp/eval/confusion_val.csv" && -s "$tmp/eval/confusion_val.png" ]] && pass || fail "eval reports missing"
mkdir -p "$tmp/mixed/nested"
cp "$tmp/data/predict/"* "$tmp/mixed/"
cp "$tmp/data/predict/photo_0.jpg" "$tmp/mixed/nested/deep.jpg"
cp "$tmp/data/predict/photo_1.png" "$tmp/mixed/photo_0.png"   # same stem as photo_0.jpg
expect predict 0 '' -- "$bin" predict "$tmp/mixed" --weights "$tmp/runs/seg/whole" --out "$tmp/pred" --probabilities -q
# One indexed PNG per image, at the image's own size (rows x cols as generated).
check_size() {  # FILE ROWS COLS
  local size
  size=$("$py" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(33); w,h=struct.unpack(">II",d[16:24]); print(h, w, d[25])' "$1" 2>/dev/null)
  [[ $size == "$2 $3 3" ]] && pass || fail "$1: rows cols colour-type = '$size', want '$2 $3 3'"
}
check_size "$tmp/pred/masks/photo_0_jpg.png" 240 320
check_size "$tmp/pred/masks/photo_0_png.png" 300 200
check_size "$tmp/pred/masks/photo_1.png" 300 200
check_size "$tmp/pred/masks/photo_2.png" 384 512
check_size "$tmp/pred/masks/photo_3.png" 181 243
check_size "$tmp/pred/masks/nested/deep.png" 240 320
[[ $(find "$tmp/pred/masks" -name '*.png' | wc -l) -eq 6 ]] && pass || fail "expected 6 masks"
[[ -s "$tmp/pred/overlays/photo_2.jpg" && -s "$tmp/pred/probabilities/photo_3.safetensors" ]] && pass || fail "overlay/probabilities missing"

# --- the implementation switch and the packed-data training benchmark ---------------------------
# --set interp=reference trains the same readout through the ATen reference; both runs reach a
# metrics row (the numerics are compared in tests/ops and on the GPU by scripts/device_check.sh).
expect interp-reference 0 '"best_iteration"' -- "$bin" train "${common[@]}" --iterations 5 --name ref \
  --set interp=reference --json
grep -q '"interp": "reference"' "$tmp/runs/seg/ref/config.json" && pass || fail "config.json lacks interp"
expect interp-bad 2 "interp 'fastest'" -- "$bin" train "${common[@]}" --iterations 5 --name bad --set interp=fastest
expect bench-pack 0 'packed.safetensors' -- "$bin" bench pack --data "$tmp/data" --imgsz 64 --max-images 4 \
  --out "$tmp/packed.safetensors"
expect bench-train 0 '"seconds_per_iteration"' -- "$bin" bench train --packed "$tmp/packed.safetensors" \
  --device cpu --iterations 4 --batch 2 --val-every 2 --project "$tmp/runs" --json
printf 'not safetensors' >"$tmp/bad.safetensors"
expect bench-train-bad 3 'bad.safetensors' -- "$bin" bench train --packed "$tmp/bad.safetensors" --device cpu

# --- boundary scoring: the BSDS benchmark on the original's own sample ----------------------------
bench="${LIDERE_SHARED_DIR:?LIDERE_SHARED_DIR not set}/datasets/bsds500/bench"
expect boundary-eval 0 '"ap"' -- "$bin" eval --task boundary --pred "$bench/png" --gt "$bench/groundTruth" \
  --thresholds 5 --out "$tmp/bdry" --json -q
for f in eval_bdry.txt eval_bdry_thr.txt eval_bdry_img.txt pr_curve.png; do
  [[ -s "$tmp/bdry/$f" ]] && pass || fail "boundary eval lacks $f"
done
# ODS R/P/F, OIS R/P/F and AP within 0.001 of the original benchmark's test_2 output.
if paste "$tmp/bdry/eval_bdry.txt" "$bench/test_2/eval_bdry.txt" |
  awk '{ for (i = 1; i <= 8; i++) { d = $i - $(i + 8); if (d < 0) d = -d; if (d > 0.001) bad = 1 } } END { exit bad }'; then
  pass
else
  fail "eval_bdry.txt differs from test_2:"; paste "$tmp/bdry/eval_bdry.txt" "$bench/test_2/eval_bdry.txt"
fi
mkdir -p "$tmp/pred_missing" && cp "$bench/png/2018.png" "$tmp/pred_missing/"
expect boundary-missing 3 'no prediction for ground truth 3063' -- "$bin" eval --task boundary \
  --pred "$tmp/pred_missing" --gt "$bench/groundTruth" -q
small=$(find "$tmp/data" -name '*.png' | head -n 1)
mkdir -p "$tmp/pred_small" && for id in 2018 3063 5096 6046 8068; do cp "$small" "$tmp/pred_small/$id.png"; done
expect boundary-size 3 'prediction is 96x96 but its ground truth' -- "$bin" eval --task boundary \
  --pred "$tmp/pred_small" --gt "$bench/groundTruth" -q
expect boundary-args 2 'needs --pred' -- "$bin" eval --task boundary --gt "$bench/groundTruth"
mkdir -p "$tmp/pred_bad" && for id in 2018 3063 5096 6046 8068; do printf 'garbage' >"$tmp/pred_bad/$id.mat"; done
expect boundary-bad-mat 3 'pred_bad/[0-9]+.mat: cannot open as a MATLAB .mat file' -- "$bin" eval --task boundary \
  --pred "$tmp/pred_bad" --gt "$bench/groundTruth" -q

# --- boundary task end to end: train on a few BSDS500 images, predict (tiled, whole, 16-bit), score
bsds="$LIDERE_SHARED_DIR/datasets/bsds500"
for split in train val; do
  mkdir -p "$tmp/bsds/images/$split" "$tmp/bsds/groundTruth/$split"
  for gt in $(ls "$bsds/groundTruth/$split" | head -n 3); do
    cp "$bsds/groundTruth/$split/$gt" "$tmp/bsds/groundTruth/$split/"
    cp "$bsds/images/$split/${gt%.mat}.jpg" "$tmp/bsds/images/$split/"
  done
done
expect boundary-train 0 '"ODS"' -- "$bin" train --task boundary --data "$tmp/bsds" --imgsz 64 --batch 2 \
  --iterations 4 --set val_every=2 --set val_thresholds=9 --set workers=1 --project "$tmp/runs" --name bsds --json -q
[[ -s "$tmp/runs/boundary/bsds/eval_val.json" && -s "$tmp/runs/boundary/bsds/pr_curve_val.png" ]] && pass ||
  fail "boundary run lacks eval_val.json / pr_curve_val.png"
expect boundary-predict 0 '"boundaries"' -- "$bin" predict "$tmp/bsds/images/val" --weights "$tmp/runs/boundary/bsds" \
  --out "$tmp/bpred" --json -q
expect boundary-predict-whole 0 '"boundaries"' -- "$bin" predict "$tmp/bsds/images/val" \
  --weights "$tmp/runs/boundary/bsds" --tile 0 --bits 16 --out "$tmp/bpred16" --json -q
n=$(ls "$tmp/bpred/boundaries" | wc -l); [[ $n -eq 3 ]] && pass || fail "boundary predict wrote $n maps, not 3"
expect boundary-score 0 '"ods"' -- "$bin" eval --task boundary --pred "$tmp/bpred/boundaries" \
  --gt "$tmp/bsds/groundTruth/val" --thresholds 9 --out "$tmp/bscore" --json -q
expect boundary-score16 0 '"ods"' -- "$bin" eval --task boundary --pred "$tmp/bpred16/boundaries" \
  --gt "$tmp/bsds/groundTruth/val" --thresholds 9 --out "$tmp/bscore16" --json -q
expect boundary-not-bsds 3 'not a boundary dataset' -- "$bin" train --task boundary --data "$tmp/data" \
  --iterations 2 --project "$tmp/runs" -q
expect boundary-bad-overlap 2 'overlap must be in' -- "$bin" predict "$tmp/bsds/images/val" \
  --weights "$tmp/runs/boundary/bsds" --tile 50 --overlap 50 --out "$tmp/bpred_bad" -q
expect boundary-eval-weights 0 '"ODS"' -- "$bin" eval --weights "$tmp/runs/boundary/bsds" --data "$tmp/bsds" \
  --thresholds 9 --out "$tmp/beval" --json -q
[[ -s "$tmp/beval/eval_bdry.txt" && -s "$tmp/beval/pr_curve_val.png" ]] && pass || fail "boundary eval --weights files"
expect boundary-checkpoint-on-seg-data 3 'not a boundary dataset' -- "$bin" eval \
  --weights "$tmp/runs/boundary/bsds" --data "$tmp/data" --out "$tmp/eval_wrong" -q
expect seg-checkpoint-as-boundary 3 "trained for task 'seg'" -- "$bin" eval --task boundary \
  --weights "$tmp/runs/seg/whole" --data "$tmp/bsds" --out "$tmp/eval_wrong2" -q

# --- recommended settings: the task's and the backbone's, under what the user sets ---------------
setting() { "$py" -c 'import json,sys; c=json.load(open(sys.argv[1])); v=c
for k in sys.argv[2].split("."): v=v[k]
print(json.dumps(v))' "$1" "$2"; }
want_setting() {  # RUN KEY VALUE
  local got; got=$(setting "$tmp/runs/$1/config.json" "$2")
  [[ $got == "$3" ]] && pass || fail "$1: $2 = $got, want $3"
}
rec=(--batch 4 --iterations 1 --set val_every=1 --set workers=1 --project "$tmp/runs" -q)
expect recommended 0 '' -- "$bin" train --data "$tmp/data" "${rec[@]}" --name rec
want_setting seg/rec lr 0.01
want_setting seg/rec imgsz '[256, 256]'
printf '{"lr": 0.003, "imgsz": [64, 64]}' >"$tmp/user_config.json"
expect recommended-config 0 '' -- "$bin" train --data "$tmp/data" "${rec[@]}" --config "$tmp/user_config.json" --name rec_config
want_setting seg/rec_config lr 0.003
want_setting seg/rec_config imgsz '[64, 64]'
expect recommended-set 0 '' -- "$bin" train --data "$tmp/data" "${rec[@]}" --imgsz 64 --set lr=0.002 --name rec_set
want_setting seg/rec_set lr 0.002
expect recommended-boundary 0 '' -- "$bin" train --task boundary --data "$tmp/bsds" "${rec[@]}" --imgsz 64 \
  --set val_thresholds=3 --name rec_boundary
want_setting boundary/rec_boundary task_options.balanced true
want_setting boundary/rec_boundary iterations 1
expect recommended-boundary-set 0 '' -- "$bin" train --task boundary --data "$tmp/bsds" "${rec[@]}" --imgsz 64 \
  --set val_thresholds=3 --set task.balanced=false --name rec_boundary_off
want_setting boundary/rec_boundary_off task_options.balanced false
# Any multiple of the patch: DINOv2-S at 70x98 px (5 x 7 tokens, no multiple of 8: target grid
# 8 x 12, output 32 x 48); the prediction comes back at the image's size.
expect any-size 0 'output 32x48' -- "$bin" train --data "$tmp/data" --batch 4 --iterations 1 --set val_every=1 \
  --set workers=1 --project "$tmp/runs" --backbone dinov2-s-imgfocus --imgsz 70x98 --name size70
expect any-size-predict 0 '' -- "$bin" predict "$tmp/data/predict" --weights "$tmp/runs/seg/size70" --out "$tmp/pred70" -q
check_size "$tmp/pred70/masks/photo_2.png" 384 512
# With adapters the recommended settings give them their own learning rate; --set lora_lr wins.
expect lora-recommended 0 '' -- "$bin" train --data "$tmp/data" "${rec[@]}" --backbone dinov2-s-imgfocus \
  --imgsz 56 --set lora_rank=2 --name lora_rec
want_setting seg/lora_rec lora_lr 0.0001
expect lora-recommended-set 0 '' -- "$bin" train --data "$tmp/data" "${rec[@]}" --backbone dinov2-s-imgfocus \
  --imgsz 56 --set lora_rank=2 --set lora_lr=0.001 --name lora_rec_set
want_setting seg/lora_rec_set lora_lr 0.001
want_setting seg/rec lora_lr 0.0
expect base-grid 0 'output 48x48' -- "$bin" train --data "$tmp/data" --batch 4 --iterations 1 --set val_every=1 \
  --set workers=1 --project "$tmp/runs" --imgsz 64 --set base_grid=12 --name grid12
expect base-grid-bad 2 'base_grid must be' -- "$bin" train --data "$tmp/data" "${rec[@]}" --set base_grid=[0,4]
expect checkpointing-frozen 2 'set lora_rank too' -- "$bin" train --data "$tmp/data" "${rec[@]}" \
  --set activation_checkpointing=true
expect lora-lr-frozen 2 "lora_lr is the adapters' learning rate: set lora_rank too" -- "$bin" train \
  --data "$tmp/data" "${rec[@]}" --set lora_lr=1e-4

# --- errors name the file ------------------------------------------------------------------------
bad() { rm -rf "$tmp/bad"; cp -r "$tmp/data" "$tmp/bad"; }
short=(--imgsz 64 --batch 4 --iterations 2 --project "$tmp/runs" -q)
bad; printf 'not a picture' >"$tmp/bad/train/images/train_0003.png"
expect corrupt-image 3 'train_0003.png: cannot decode' -- "$bin" train --data "$tmp/bad" "${short[@]}"
bad; "$py" "$src/tests/datasets/write_png.py" "$tmp/bad/val/labels/val_0001.png" gray8 2 2 0 1 2 3
expect label-size 3 'val_0001.png: label is 2x2 but its image .*val_0001.png is 96x96' -- "$bin" train --data "$tmp/bad" "${short[@]}"
bad; printf '{"format": "folder", "classes": ["background", "brick"], "ignore_index": 255}' >"$tmp/bad/lidere.json"
expect label-range 3 'train/labels/train_[0-9]+.png: label value [23] \([0-9]+ pixels\) is not a class \(0..1\)' -- "$bin" train --data "$tmp/bad" "${short[@]}"
expect missing-split 3 "lidere.json: no split 'test'" -- "$bin" train --data "$tmp/data" --set train_split=test "${short[@]}"
bad; printf '{"format": "list", "splits": {"train": "train.txt", "val": "val.txt"}, "classes": ["a", "b", "c", "d"]}' >"$tmp/bad/lidere.json"
expect missing-list 3 'train.txt: cannot open split list' -- "$bin" train --data "$tmp/bad" "${short[@]}"
bad; rm "$tmp/bad/train/images/"* "$tmp/bad/train/labels/"*
expect empty 3 "split 'train' has no images" -- "$bin" train --data "$tmp/bad" "${short[@]}"
bad; printf '{"format": "folder", "classes": ["background", "brick", "grass"], "ignore_index": 3}' >"$tmp/bad/lidere.json"
expect class-count 3 'best.safetensors: this checkpoint predicts 4 classes, but the dataset has 3' -- \
  "$bin" eval --weights "$tmp/runs/seg/whole" --data "$tmp/bad" --out "$tmp/eval2" -q
printf 'garbage' >"$tmp/bad.safetensors"
expect bad-checkpoint 3 'bad.safetensors' -- "$bin" predict "$tmp/mixed" --weights "$tmp/bad.safetensors" -q
expect not-a-checkpoint 3 'not a lidere checkpoint' -- "$bin" predict "$tmp/mixed" --weights "$LIDERE_SHARED_DIR/golden/seg_small_f32.safetensors" -q
printf 'x' >"$tmp/mixed/broken.jpg"
expect predict-corrupt 3 'broken.jpg: cannot decode' -- "$bin" predict "$tmp/mixed" --weights "$tmp/runs/seg/whole" --out "$tmp/pred2" -q
expect unknown-set 2 '--set lrate: no such setting' -- "$bin" train --data "$tmp/data" --set lrate=1 -q
expect bad-device 2 "device 'tpu'" -- "$bin" train --data "$tmp/data" --device tpu -q
expect no-data 2 '--data is required' -- "$bin" train -q

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
