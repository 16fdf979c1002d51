// The COCO box evaluator (tasks/coco/coco_eval.h) and the COCO JSON reader (datasets/coco_json.h):
// hand-made cases with known answers, the reader's errors and warnings, and the parity test
// against pycocotools on generated cases (tests/tasks/make_coco_eval_cases.py).
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "datasets/coco_json.h"
#include "tasks/coco/coco_eval.h"
#include "test_common.h"

namespace fs = std::filesystem;
using lidere::data::CocoObject;
using lidere::data::CocoSet;
namespace coco = lidere::tasks::coco;

namespace {

CocoSet one_image_set(std::vector<CocoObject> annotations) {
  CocoSet set;
  set.images = {{1, "a.jpg", 640, 480}, {2, "b.jpg", 640, 480}};
  set.categories = {{3, "cat", "", {}, {}}, {7, "dog", "", {}, {}}};
  set.annotations = std::move(annotations);
  return set;
}

CocoObject gt_box(std::int64_t id, std::int64_t image, std::int64_t category, std::array<double, 4> box,
                  bool crowd = false) {
  CocoObject o;
  o.id = id;
  o.image_id = image;
  o.category_id = category;
  o.bbox = box;
  o.area = box[2] * box[3];
  o.iscrowd = crowd;
  return o;
}

CocoObject detection(std::int64_t image, std::int64_t category, std::array<double, 4> box, double score) {
  CocoObject o = gt_box(0, image, category, box);
  o.score = score;
  return o;
}

}  // namespace

CATCH_TEST_CASE("COCO evaluation: thresholds as numpy's linspace, box IoU as pycocotools' bbIou", "[unit]") {
  const auto p = coco::Params::bbox();
  CATCH_REQUIRE(p.iou_thresholds.size() == 10);
  CATCH_CHECK(p.iou_thresholds[5] == 0.75);  // summarize() finds AP75 by equality
  CATCH_CHECK(p.iou_thresholds.back() == 0.95);
  CATCH_REQUIRE(p.recall_thresholds.size() == 101);
  CATCH_CHECK(p.recall_thresholds[7] == 7 * 0.01);
  CATCH_CHECK(coco::box_iou({0, 0, 10, 10}, {5, 0, 10, 10}, false) == Approx(50.0 / 150.0));
  CATCH_CHECK(coco::box_iou({0, 0, 10, 10}, {0, 0, 100, 100}, true) == 1.0);  // inside a crowd region
  CATCH_CHECK(coco::box_iou({0, 0, 10, 10}, {10, 0, 10, 10}, false) == 0.0);  // touching
}

CATCH_TEST_CASE("COCO evaluation: perfect, missing and absorbed detections give the known numbers", "[unit]") {
  // Precision is tp / (tp + fp + eps) as in pycocotools, so "1" is 1 - 2.2e-16.
  // One box of each category in image 1; image 2 has none.
  const CocoSet truth = one_image_set({gt_box(1, 1, 3, {10, 10, 50, 50}), gt_box(2, 1, 7, {100, 100, 200, 150})});
  CATCH_SECTION("every box found once: AP 1 wherever there is ground truth, -1 where there is none") {
    const auto r = coco::evaluate_boxes(truth, {detection(1, 3, {10, 10, 50, 50}, 0.9), detection(1, 7, {100, 100, 200, 150}, 0.8)});
    CATCH_CHECK(r.stats[0] == Approx(1.0));
    CATCH_CHECK(r.stats[3] == -1.0);  // no small ground truth (50 x 50 is medium)
    CATCH_CHECK(r.stats[4] == Approx(1.0));
    CATCH_CHECK(r.stats[5] == Approx(1.0));
    CATCH_CHECK(r.stats[6] == 1.0);
    CATCH_CHECK(r.category_ap[0] == Approx(1.0));
    CATCH_CHECK(r.category_ap[1] == Approx(1.0));
  }
  CATCH_SECTION("one category missed: it scores 0, the mean halves") {
    const auto r = coco::evaluate_boxes(truth, {detection(1, 3, {10, 10, 50, 50}, 0.9)});
    CATCH_CHECK(r.stats[0] == Approx(0.5));
    CATCH_CHECK(r.category_ap[0] == Approx(1.0));
    CATCH_CHECK(r.category_ap[1] == 0.0);
  }
  CATCH_SECTION("a false positive scored above the true one: precision 1/2 at every recall") {
    const auto r = coco::evaluate_boxes(
        truth, {detection(2, 3, {10, 10, 50, 50}, 0.95), detection(1, 3, {10, 10, 50, 50}, 0.9),
                detection(1, 7, {100, 100, 200, 150}, 0.8)});
    CATCH_CHECK(r.category_ap[0] == Approx(0.5));
    CATCH_CHECK(r.category_ap[1] == Approx(1.0));
  }
  CATCH_SECTION("a crowd region absorbs detections, which are then ignored") {
    CocoSet crowd = truth;
    crowd.annotations.push_back(gt_box(3, 2, 3, {0, 0, 300, 300}, true));
    const auto r = coco::evaluate_boxes(crowd, {detection(1, 3, {10, 10, 50, 50}, 0.9), detection(2, 3, {0, 0, 20, 20}, 0.99),
                                                detection(2, 3, {50, 50, 20, 20}, 0.98),
                                                detection(1, 7, {100, 100, 200, 150}, 0.8)});
    CATCH_CHECK(r.category_ap[0] == Approx(1.0));
  }
  CATCH_SECTION("annotation id 0 reads as unmatched, as in pycocotools") {
    CocoSet zero = truth;
    zero.annotations[0].id = 0;
    const auto r = coco::evaluate_boxes(zero, {detection(1, 3, {10, 10, 50, 50}, 0.9)});
    CATCH_CHECK(r.category_ap[0] == 0.0);
  }
  CATCH_SECTION("objects of unlisted images or categories are left out and counted") {
    const auto r = coco::evaluate_boxes(truth, {detection(1, 3, {10, 10, 50, 50}, 0.9), detection(1, 99, {0, 0, 5, 5}, 0.9),
                                                detection(5, 3, {0, 0, 5, 5}, 0.9)});
    CATCH_CHECK(r.detections_unknown_category == 1);
    CATCH_CHECK(r.detections_unknown_image == 1);
  }
  CATCH_SECTION("no detections at all: every AP and AR is 0") {
    const auto r = coco::evaluate_boxes(truth, {});
    CATCH_CHECK(r.stats[0] == 0.0);
    CATCH_CHECK(r.stats[8] == 0.0);
  }
}

CATCH_TEST_CASE("COCO evaluation: the result does not depend on the number of threads", "[unit]") {
  CocoSet truth;
  std::vector<CocoObject> dets;
  std::uint64_t state = 12345;
  const auto uniform = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (std::int64_t i = 1; i <= 30; ++i) truth.images.push_back({i, "", 0, 0});
  for (std::int64_t c = 1; c <= 12; ++c) truth.categories.push_back({c * 3, "", "", {}, {}});
  std::int64_t id = 1;
  for (std::int64_t i = 1; i <= 30; ++i) {
    for (int n = 0; n < 6; ++n) {
      const std::array<double, 4> box{uniform() * 400, uniform() * 300, 5 + uniform() * 150, 5 + uniform() * 150};
      const std::int64_t category = 3 * (1 + static_cast<std::int64_t>(uniform() * 12));
      truth.annotations.push_back(gt_box(id++, i, category, box, uniform() < 0.05));
      dets.push_back(detection(i, category, {box[0] + 3 * uniform(), box[1], box[2] * (0.8 + 0.4 * uniform()), box[3]},
                               std::round(uniform() * 10) / 10));
      dets.push_back(detection(i, category, {uniform() * 400, uniform() * 300, 40, 40}, std::round(uniform() * 10) / 10));
    }
  }
  const auto one = coco::evaluate_boxes(truth, dets, coco::Params::bbox(), 1);
  const auto four = coco::evaluate_boxes(truth, dets, coco::Params::bbox(), 4);
  CATCH_CHECK(one.precision == four.precision);
  CATCH_CHECK(one.recall == four.recall);
  CATCH_CHECK(one.stats == four.stats);
  CATCH_CHECK(one.stats[0] > 0.1);
}

#if defined(LIDERE_WITH_OPENCV)
CATCH_TEST_CASE("COCO JSON: malformed files are refused naming the file and the entry", "[unit]") {
  using lidere::datasets::parse_coco_annotations;
  using lidere::datasets::parse_coco_results;
  using lidere::testing::thrown_message;
  const auto gt_error = [](const std::string& text) {
    return thrown_message<lidere::InputError>([&] { parse_coco_annotations(text, "ann.json"); });
  };
  const std::string head = R"({"images": [{"id": 1}], "categories": [{"id": 1, "name": "a"}], "annotations": [)";
  CATCH_CHECK_THAT(gt_error("{\"images\": ["), Catch::Contains("ann.json: not valid JSON"));
  CATCH_CHECK_THAT(gt_error("[]"), Catch::Contains("ann.json: a COCO annotation file is a JSON object"));
  CATCH_CHECK_THAT(gt_error(R"({"images": []})"), Catch::Contains("ann.json: no \"categories\" list"));
  CATCH_CHECK_THAT(gt_error(head + R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}]})"),
                   Catch::Contains("ann.json: annotations[0]: \"bbox\" must be [x, y, width, height]"));
  CATCH_CHECK_THAT(gt_error(head + R"({"id": 1, "image_id": "x", "category_id": 1, "bbox": [1, 2, 3, 4]}]})"),
                   Catch::Contains("annotations[0]: \"image_id\" must be an integer"));
  CATCH_CHECK_THAT(gt_error(head + R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]},
                                      {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]})"),
                   Catch::Contains("annotations[1]: annotation id 1 is used twice"));
  CATCH_CHECK_THAT(gt_error(head + R"({"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]})"),
                   Catch::Contains("annotations[0]: no \"id\""));

  const auto dt_error = [](const std::string& text) {
    return thrown_message<lidere::InputError>([&] { parse_coco_results(text, "dt.json"); });
  };
  CATCH_CHECK_THAT(dt_error("{}"), Catch::Contains("dt.json: a COCO results file is a JSON list"));
  CATCH_CHECK_THAT(dt_error(R"([{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}])"),
                   Catch::Contains("dt.json: detections[0]: no \"score\""));
  CATCH_CHECK_THAT(dt_error(R"([{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": "high"}])"),
                   Catch::Contains("detections[0]: \"score\" must be a number"));

  // Results of an image the annotations do not list: pycocotools' "Results do not correspond".
  const auto truth = parse_coco_annotations(head + "]}", "ann.json");
  const auto results = parse_coco_results(R"([{"image_id": 9, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1}])", "dt.json");
  CATCH_CHECK_THAT(thrown_message<lidere::InputError>(
                       [&] { lidere::datasets::check_results_against(truth, results, "dt.json", "ann.json"); }),
                   Catch::Contains("dt.json: detections[0]: image id 9 is not an image of ann.json"));
}

CATCH_TEST_CASE("COCO JSON: what pycocotools passes over silently is warned about, once per kind", "[unit]") {
  const std::string text = R"({"images": [{"id": 1}], "categories": [{"id": 1, "name": "a"}], "annotations": [
      {"id": 0, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0},
      {"id": 5, "image_id": 1, "category_id": 4, "bbox": [1, 2, 0, 4], "area": 0, "iscrowd": 0},
      {"id": 6, "image_id": 1, "category_id": 4, "bbox": [1, 2, 3, 4]}]})";
  std::vector<std::string> warnings;
  const auto set = lidere::datasets::parse_coco_annotations(text, "ann.json", &warnings);
  CATCH_CHECK(set.annotations.size() == 3);
  CATCH_CHECK(set.annotations[2].area == 12.0);  // w x h where the field is missing
  const std::string all = fmt::format("{}", fmt::join(warnings, "\n"));
  CATCH_CHECK_THAT(all, Catch::Contains("ann.json: annotations[0]: annotation id 0"));
  CATCH_CHECK_THAT(all, Catch::Contains("ann.json: annotations[1] (0 x 4): a box of zero or negative width"));
  CATCH_CHECK_THAT(all, Catch::Contains("ann.json: annotations[1] (category id 4) (and 1 more like it): a category id"));
  CATCH_CHECK_THAT(all, Catch::Contains("ann.json: annotations[2]: no \"area\""));
  CATCH_CHECK_THAT(all, Catch::Contains("no \"iscrowd\": taken as 0"));
}

namespace {

// The generated cases and pycocotools' answers, made once per build folder and script version
// (LIDERE_COCO_SEED and LIDERE_COCO_CASES draw other cases with the same command).
fs::path coco_cases() {
  const char* seed_env = std::getenv("LIDERE_COCO_SEED");
  const char* cases_env = std::getenv("LIDERE_COCO_CASES");
  const std::string seed = seed_env ? seed_env : "0", cases = cases_env ? cases_env : "6";
  const fs::path script = fs::path(LIDERE_SOURCE_DIR) / "tests/tasks/make_coco_eval_cases.py";
  return lidere::testing::cached_output("coco_eval_cases", script, "seed " + seed + " cases " + cases, [&](const fs::path& dir) {
    const std::string command = fmt::format("\"{}\" \"{}\" \"{}\" --seed {} --cases {} > \"{}\" 2>&1", lidere::testing::python(),
                                            script.string(), dir.string(), seed, cases, (dir / "log.txt").string());
    if (std::system(command.c_str()) != 0) {
      std::ifstream log(dir / "log.txt");
      throw std::runtime_error("make_coco_eval_cases.py failed: " + std::string((std::istreambuf_iterator<char>(log)), {}));
    }
  });
}

}  // namespace

CATCH_TEST_CASE("COCO evaluation equals pycocotools' COCOeval('bbox') on generated cases", "[parity]") {
  const bool available =
      std::system(fmt::format("\"{}\" -c \"import pycocotools\" 2>/dev/null", lidere::testing::python()).c_str()) == 0;
  LIDERE_REQUIRE_AVAILABLE(available, "python with pycocotools (the reference)");
  const fs::path dir = coco_cases();
  std::size_t checked = 0;
  for (int n = 0; fs::exists(dir / fmt::format("case_{}", n)); ++n) {
    const fs::path folder = dir / fmt::format("case_{}", n);
    CATCH_INFO("case " << folder.string());
    const auto truth = lidere::datasets::read_coco_annotations(folder / "gt.json");
    const auto results = lidere::datasets::read_coco_results(folder / "dt.json");
    lidere::datasets::check_results_against(truth, results, "dt.json", "gt.json");
    const auto ours = coco::evaluate_boxes(truth, results);
    std::ifstream in(folder / "expected.json");
    const auto expected = nlohmann::json::parse(in);
    const auto stats = expected.at("stats").get<std::vector<double>>();
    CATCH_REQUIRE(ours.stats.size() == 12);
    double worst = 0;
    for (std::size_t i = 0; i < 12; ++i) worst = std::max(worst, std::fabs(ours.stats[i] - stats[i]));
    CATCH_CHECK(worst <= 1e-6);
    CATCH_CHECK(ours.category_ids == expected.at("category_ids").get<std::vector<std::int64_t>>());
    CATCH_CHECK(expected.at("precision_shape").get<std::vector<std::size_t>>() ==
                std::vector<std::size_t>{ours.T(), ours.R(), ours.K(), ours.A(), ours.M()});
    const auto precision = expected.at("precision").get<std::vector<double>>();
    const auto recall = expected.at("recall").get<std::vector<double>>();
    CATCH_REQUIRE(precision.size() == ours.precision.size());
    CATCH_REQUIRE(recall.size() == ours.recall.size());
    std::size_t precision_differ = 0, recall_differ = 0;
    for (std::size_t i = 0; i < precision.size(); ++i) precision_differ += precision[i] != ours.precision[i];
    for (std::size_t i = 0; i < recall.size(); ++i) recall_differ += recall[i] != ours.recall[i];
    CATCH_CHECK(precision_differ == 0);  // bit for bit: the same double operations in the same order
    CATCH_CHECK(recall_differ == 0);
    fmt::print("{}: {} boxes, {} detections, AP {:.6f}; stats within {:.1e}, precision and recall arrays: {} and {} "
               "entries differ ({})\n",
               folder.filename().string(), truth.annotations.size(), results.size(), ours.stats[0], worst,
               precision_differ, recall_differ,
               fmt::join(expected.at("situations").get<std::vector<std::string>>(), ", "));
    ++checked;
  }
  CATCH_CHECK(checked > 0);
}
#endif
