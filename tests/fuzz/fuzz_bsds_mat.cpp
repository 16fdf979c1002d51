// The BSDS .mat readers (libmatio): ground truth, ultrametric contour maps and segmentations.
// Every file reads or is refused with an InputError naming it. Seeds: the benchmark sample's
// .mat files and hand-written ones with the regression cases (tests/fuzz/make_mat_seeds.py).
#include "core/errors.h"
#include "datasets/bsds.h"
#include "fuzz/fuzz_target.h"

namespace lidere::fuzz {

std::vector<Bytes> fuzz_seeds() { return {}; }

void fuzz_one(const std::uint8_t* data, std::size_t size) {
  const std::string path = write_scratch(data, size, ".mat");
  const auto refused = [&](auto&& read) {
    try {
      read();
    } catch (const InputError& e) {
      expect_names(e.what(), path);
    }
  };
  refused([&] { datasets::read_bsds_ground_truth(path); });
  refused([&] {
    if (datasets::mat_has_variable(path, "ucm2")) datasets::read_ucm2(path);
  });
  refused([&] {
    if (datasets::mat_has_variable(path, "segs")) datasets::read_segs(path);
  });
}

}  // namespace lidere::fuzz
