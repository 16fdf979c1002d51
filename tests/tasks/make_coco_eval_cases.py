#!/usr/bin/env python3
"""Generated COCO detection cases and pycocotools' answers, for the evaluator parity test.

    make_coco_eval_cases.py OUT_DIR [--seed S] [--cases N] [--images I]

Writes OUT_DIR/case_<n>/{gt.json, dt.json, expected.json}: a random COCO annotation file and a
results file, and what pycocotools' COCOeval('bbox') makes of them (the 12 stats, the precision
array (T, R, K, A, M) and the recall array (T, K, A, M), flattened row-major). Every case holds
the situations reimplementations get wrong, and this script fails unless each one actually
occurs in each case (checked on pycocotools' own per-image results where it can be):
  - equal scores in one category across images, one detection matched and the other not;
  - crowd regions, one of which absorbs two or more detections;
  - `area` fields that differ from w x h, and ground truth in each of small, medium and large;
  - images with no boxes (with and without detections), categories with no ground truth
    (with detections), non-contiguous category ids;
  - more than 100 detections of one category in one image (the maxDets cut);
  - ground truth whose `ignore` field disagrees with iscrowd (pycocotools overwrites it).
"""
import argparse
import contextlib
import copy
import io
import json
import os
import sys

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def make_case(rng, images):
    category_ids = sorted(rng.choice(np.arange(1, 200), size=int(rng.integers(4, 9)), replace=False).tolist())
    empty_category = category_ids[-1]  # listed, never in the ground truth, still detected
    gt_categories = category_ids[:-1]
    image_ids = sorted(rng.choice(np.arange(1, 10 * images), size=images, replace=False).tolist())
    no_box_images = set(image_ids[:2])
    imgs = [{"id": i, "file_name": f"{i:06d}.jpg", "width": 640, "height": 480} for i in image_ids]
    cats = [{"id": c, "name": f"class_{c}", "supercategory": "thing"} for c in category_ids]
    anns, dets = [], []
    next_id = int(rng.integers(1, 50))

    def box_of_size(side):
        w = side * float(rng.uniform(0.6, 1.6))
        h = side * side / w
        x = float(rng.uniform(0, 640 - min(w, 600)))
        y = float(rng.uniform(0, 480 - min(h, 460)))
        return [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]

    def jitter(box, amount):
        x, y, w, h = box
        return [round(x + float(rng.normal(0, amount * w)), 2), round(y + float(rng.normal(0, amount * h)), 2),
                round(w * float(np.exp(rng.normal(0, amount))), 2), round(h * float(np.exp(rng.normal(0, amount))), 2)]

    def score():
        return round(float(rng.uniform(0.05, 1.0)), 1)  # one decimal: many ties

    for n, image in enumerate(image_ids):
        if image in no_box_images:
            if n == 0:  # an image without ground truth but with detections
                for _ in range(3):
                    dets.append({"image_id": image, "category_id": int(rng.choice(gt_categories)),
                                 "bbox": box_of_size(float(rng.uniform(10, 200))), "score": score()})
            continue
        for _ in range(int(rng.integers(1, 9))):
            category = int(rng.choice(gt_categories))
            side = float(np.exp(rng.uniform(np.log(6), np.log(300))))  # small, medium and large
            box = box_of_size(side)
            crowd = int(rng.random() < 0.08)
            area = round(box[2] * box[3] * float(rng.uniform(0.4, 1.0)), 2)  # a segment's area, not w x h
            ann = {"id": next_id, "image_id": image, "category_id": category, "bbox": box, "area": area,
                   "iscrowd": crowd}
            if rng.random() < 0.1:
                ann["ignore"] = 1 - crowd  # pycocotools reads iscrowd instead
            anns.append(ann)
            next_id += int(rng.integers(1, 4))
            copies = int(rng.integers(0, 4)) if not crowd else int(rng.integers(2, 5))
            for _ in range(copies):
                if crowd:  # inside the crowd region: intersection over the detection's area is high
                    x, y, w, h = box
                    dw, dh = w * float(rng.uniform(0.2, 0.5)), h * float(rng.uniform(0.2, 0.5))
                    d = [round(x + float(rng.uniform(0, w - dw)), 2), round(y + float(rng.uniform(0, h - dh)), 2),
                         round(dw, 2), round(dh, 2)]
                else:
                    d = jitter(box, float(rng.choice([0.02, 0.08, 0.2])))
                dets.append({"image_id": image, "category_id": category, "bbox": d, "score": score()})
        for _ in range(int(rng.integers(0, 5))):  # false positives, some of the empty category
            category = int(rng.choice(category_ids))
            dets.append({"image_id": image, "category_id": category, "bbox": box_of_size(float(rng.uniform(5, 250))),
                         "score": score()})
    crowded = next(i for i in image_ids if i not in no_box_images)
    for _ in range(120):  # the maxDets cut: 120 detections of one category in one image
        dets.append({"image_id": crowded, "category_id": gt_categories[0], "bbox": box_of_size(float(rng.uniform(5, 80))),
                     "score": round(float(rng.uniform(0.0, 1.0)), 2)})
    gt = {"images": imgs, "categories": cats, "annotations": anns}
    return gt, dets, {"empty_category": empty_category, "no_box_images": sorted(no_box_images), "crowded": crowded}


def run_pycocotools(gt, dets):
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        results = coco.loadRes(copy.deepcopy(dets))
        evaluation = COCOeval(coco, results, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation


def check_situations(gt, dets, info, evaluation):
    """Fails unless each listed situation occurs in this case."""
    anns = gt["annotations"]
    found = {}
    found["area differs from w x h"] = any(abs(a["area"] - a["bbox"][2] * a["bbox"][3]) > 1e-6 for a in anns)
    sizes = [a["area"] for a in anns if not a["iscrowd"]]
    found["small, medium and large"] = (min(sizes) < 32 ** 2 and max(sizes) > 96 ** 2
                                       and any(32 ** 2 < s < 96 ** 2 for s in sizes))
    found["ignore field that disagrees with iscrowd"] = any("ignore" in a and a["ignore"] != a["iscrowd"] for a in anns)
    gt_images = {a["image_id"] for a in anns}
    det_images = {d["image_id"] for d in dets}
    found["image with no boxes and no detections"] = any(i not in gt_images and i not in det_images
                                                        for i in info["no_box_images"])
    found["image with detections but no ground truth"] = any(i not in gt_images and i in det_images
                                                            for i in info["no_box_images"])
    found["category without ground truth, detected"] = (
        info["empty_category"] not in {a["category_id"] for a in anns}
        and info["empty_category"] in {d["category_id"] for d in dets})
    ids = sorted(c["id"] for c in gt["categories"])
    found["non-contiguous category ids"] = ids != list(range(ids[0], ids[0] + len(ids)))
    per_cell = {}
    for d in dets:
        key = (d["image_id"], d["category_id"])
        per_cell[key] = per_cell.get(key, 0) + 1
    found["more than 100 detections in one image and category"] = max(per_cell.values()) > 100

    # From pycocotools' own per-image results (area 'all', IoU 0.5).
    crowd_ids = {a["id"] for a in anns if a["iscrowd"]}
    absorbed = {}
    tie_scores = {}
    for e in evaluation.evalImgs:
        if e is None or e["aRng"] != [0, 1e10]:
            continue
        for d, match in enumerate(e["dtMatches"][0]):
            if int(match) in crowd_ids:
                absorbed[int(match)] = absorbed.get(int(match), 0) + 1
            if not e["dtIgnore"][0][d]:
                key = (e["category_id"], e["dtScores"][d])
                tie_scores.setdefault(key, set()).add((e["image_id"], bool(match)))
    found["a crowd region absorbing two or more detections"] = any(n >= 2 for n in absorbed.values())
    found["equal scores across images, matched and unmatched"] = any(
        len({i for i, _ in v}) > 1 and len({m for _, m in v}) > 1 for v in tie_scores.values())
    missing = [name for name, ok in found.items() if not ok]
    if missing:
        raise SystemExit("generated case lacks: " + "; ".join(missing))
    return sorted(found)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=int, default=6)
    parser.add_argument("--images", type=int, default=40)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for n in range(args.cases):
        rng = np.random.default_rng([args.seed, n])
        for attempt in range(20):
            gt, dets, info = make_case(rng, args.images)
            evaluation = run_pycocotools(gt, dets)
            try:
                situations = check_situations(gt, dets, info, evaluation)
                break
            except SystemExit as missing:
                if attempt == 19:
                    raise
                print(f"case {n}, attempt {attempt}: {missing}; drawing again", file=sys.stderr)
        folder = os.path.join(args.out, f"case_{n}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "gt.json"), "w") as f:
            json.dump(gt, f)
        with open(os.path.join(folder, "dt.json"), "w") as f:
            json.dump(dets, f)
        e = evaluation.eval
        expected = {"stats": [float(s) for s in evaluation.stats],
                    "precision_shape": list(e["precision"].shape),
                    "precision": e["precision"].ravel().tolist(),
                    "recall_shape": list(e["recall"].shape),
                    "recall": e["recall"].ravel().tolist(),
                    "category_ids": [int(c) for c in evaluation.params.catIds],
                    "situations": situations,
                    "annotations": len(gt["annotations"]), "detections": len(dets)}
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump(expected, f)
        print(f"case {n}: {len(gt['images'])} images, {len(gt['annotations'])} boxes, {len(dets)} detections, "
              f"AP {evaluation.stats[0]:.4f}")


if __name__ == "__main__":
    main()
