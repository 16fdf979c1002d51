// Our COCO box evaluation from the two JSON files to the 12 numbers, for
// benchmarks/coco_eval_speed.py (which times it against pycocotools and faster-coco-eval):
//   coco_eval_time GT.json DETS.json [--threads N]
// prints one JSON object: "stats" (COCOeval.stats order), and the seconds spent reading and
// evaluating.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "datasets/coco_json.h"
#include "tasks/coco/coco_eval.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: coco_eval_time GT.json DETS.json [--threads N]\n");
    return 2;
  }
  int threads = 0;
  for (int i = 3; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--threads") threads = std::atoi(argv[i + 1]);
  }
  try {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto truth = lidere::datasets::read_coco_annotations(argv[1]);
    const auto results = lidere::datasets::read_coco_results(argv[2]);
    lidere::datasets::check_results_against(truth, results, argv[2], argv[1]);
    const auto read = clock::now();
    const auto evaluation = lidere::tasks::coco::evaluate_boxes(truth, results, lidere::tasks::coco::Params::bbox(), threads);
    const auto done = clock::now();
    const nlohmann::json out = {{"stats", evaluation.stats},
                                {"read_s", std::chrono::duration<double>(read - start).count()},
                                {"evaluate_s", std::chrono::duration<double>(done - read).count()}};
    std::printf("%s\n", out.dump().c_str());
  } catch (const lidere::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  }
  return 0;
}
