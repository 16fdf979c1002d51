#!/usr/bin/env python3
"""COCO box evaluation speed: ours against pycocotools and faster-coco-eval on one generated case.

    python benchmarks/coco_eval_speed.py OUT_DIR [--repeats 5] [--ours BUILD/benchmarks/coco_eval_time]

The case has the size of COCO val2017 (5,000 images, about 36,000 boxes, 80 categories with
COCO's non-contiguous ids, 100 detections per image, COCO's mix of small, medium and large boxes
and about 1% crowd regions), drawn from a fixed seed into OUT_DIR/{gt,dt}.json. Each tool runs in
its own fresh process, the three interleaved, `--repeats` rounds; the table gives medians:
  ours              the whole process (reading both files, evaluating, printing the 12 numbers)
  pycocotools,      from loading the files to COCOeval.stats inside the process (interpreter
  faster-coco-eval  start and imports not counted: a handicap for ours)
and checks that the three give the same 12 numbers. Needs pycocotools and faster-coco-eval
(`.venv/bin/python -m pip install -r scripts/requirements-bench.txt`), benchmark environment only.
"""
import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

COCO_CATEGORY_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31,
                     32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57,
                     58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87,
                     88, 89, 90]


def generate(out, images=5000, boxes_per_image=7.3, detections_per_image=100, seed=0):
    rng = np.random.default_rng(seed)
    imgs, anns, dets = [], [], []
    ann_id = 1
    image_ids = rng.choice(np.arange(1, 600000), size=images, replace=False)  # unique, unordered, like COCO's
    for n in range(images):
        image_id = int(image_ids[n])
        width, height = 640, int(rng.choice([427, 480, 512]))
        imgs.append({"id": image_id, "file_name": f"{image_id:012d}.jpg", "width": width, "height": height})
        gt_boxes = []
        for _ in range(int(rng.poisson(boxes_per_image))):
            # COCO val: ~41% small, ~34% medium, ~24% large.
            side = float(np.exp(rng.normal(np.log(40), 1.1)))
            w = min(side * float(np.exp(rng.normal(0, 0.4))), width - 1)
            h = min(side * side / max(w, 1), height - 1)
            x, y = float(rng.uniform(0, width - w)), float(rng.uniform(0, height - h))
            category = int(rng.choice(COCO_CATEGORY_IDS[:40] if rng.random() < 0.7 else COCO_CATEGORY_IDS))
            box = [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]
            anns.append({"id": ann_id, "image_id": image_id, "category_id": category, "bbox": box,
                         "area": round(w * h * float(rng.uniform(0.5, 0.9)), 2), "iscrowd": int(rng.random() < 0.01)})
            gt_boxes.append((category, box))
            ann_id += 1
        for _ in range(detections_per_image):
            if gt_boxes and rng.random() < 0.3:
                category, (x, y, w, h) = gt_boxes[int(rng.integers(len(gt_boxes)))]
                s = 0.15
                box = [x + float(rng.normal(0, s * w)), y + float(rng.normal(0, s * h)),
                       w * float(np.exp(rng.normal(0, s))), h * float(np.exp(rng.normal(0, s)))]
                if rng.random() < 0.2:
                    category = int(rng.choice(COCO_CATEGORY_IDS))
                score = float(rng.beta(4, 2))
            else:
                side = float(np.exp(rng.normal(np.log(50), 1.0)))
                box = [float(rng.uniform(0, width - 10)), float(rng.uniform(0, height - 10)), side,
                       side * float(np.exp(rng.normal(0, 0.4)))]
                category = int(rng.choice(COCO_CATEGORY_IDS))
                score = float(rng.beta(1, 5))
            dets.append({"image_id": image_id, "category_id": category, "bbox": [round(v, 2) for v in box],
                         "score": round(score, 3)})
    gt = {"images": imgs, "categories": [{"id": c, "name": f"class_{c}", "supercategory": "thing"}
                                          for c in COCO_CATEGORY_IDS], "annotations": anns}
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "gt.json"), "w") as f:
        json.dump(gt, f)
    with open(os.path.join(out, "dt.json"), "w") as f:
        json.dump(dets, f)
    return len(imgs), len(anns), len(dets)


def run_python_tool(tool, gt, dt):
    """In a fresh process: load both files, evaluate, summarise; prints seconds and stats."""
    if tool == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval as Eval
    else:
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as Eval
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(gt)
        results = coco.loadRes(dt)
        evaluation = Eval(coco, results, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "stats": [float(s) for s in evaluation.stats]}))


def timed(command):
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ours", default=os.path.join(os.path.dirname(__file__), "..", "build", "benchmarks",
                                                       "coco_eval_time"))
    parser.add_argument("--run", nargs=3, metavar=("TOOL", "GT", "DT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_python_tool(*args.run)
        return
    if not args.out:
        parser.error("OUT_DIR is required")
    gt, dt = os.path.join(args.out, "gt.json"), os.path.join(args.out, "dt.json")
    if not (os.path.exists(gt) and os.path.exists(dt)):
        images, boxes, detections = generate(args.out)
    else:
        with open(gt) as f:
            g = json.load(f)
        with open(dt) as f:
            detections = len(json.load(f))
        images, boxes = len(g["images"]), len(g["annotations"])
    print(f"machine: {os.cpu_count()} cores; case: {images} images, {boxes} boxes, 80 categories, {detections} detections "
          f"({os.path.getsize(gt) / 1e6:.1f} + {os.path.getsize(dt) / 1e6:.1f} MB of JSON)")
    commands = {
        "ours": [args.ours, gt, dt],
        "pycocotools": [sys.executable, __file__, "--run", "pycocotools", gt, dt],
        "faster-coco-eval": [sys.executable, __file__, "--run", "faster-coco-eval", gt, dt],
    }
    times = {name: [] for name in commands}
    walls = {name: [] for name in commands}
    stats = {}
    for round_ in range(args.repeats):
        for name, command in commands.items():
            wall, out = timed(command)
            walls[name].append(wall)
            times[name].append(wall if name == "ours" else out["seconds"])
            stats[name] = out["stats"]
        print(f"round {round_ + 1}: " + ", ".join(f"{n} {times[n][-1]:.2f} s" for n in commands), flush=True)
    median = {n: statistics.median(v) for n, v in times.items()}
    print()
    print("| tool | median seconds (JSON files to the 12 numbers) | process wall time | ours is faster by |")
    print("|---|---|---|---|")
    for name in commands:
        ratio = "-" if name == "ours" else f"{median[name] / median['ours']:.2f}x"
        print(f"| {name} | {median[name]:.2f} | {statistics.median(walls[name]):.2f} | {ratio} |")
    reference = np.array(stats["pycocotools"])
    for name in ("ours", "faster-coco-eval"):
        worst = float(np.max(np.abs(np.array(stats[name]) - reference)))
        print(f"{name} against pycocotools: largest difference of the 12 numbers {worst:.1e}")
    print("pycocotools stats:", " ".join(f"{s:.6f}" for s in reference))


if __name__ == "__main__":
    main()
