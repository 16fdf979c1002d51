// The label-map PNG reader (libpng: grayscale 8/16-bit, palette 1-8 bit): every file reads or is
// refused with an InputError naming it. Seeds: label maps this build writes, of each kind.
#include <fstream>
#include <iterator>

#include <torch/torch.h>

#include "core/errors.h"
#include "core/plot.h"
#include "datasets/label_png.h"
#include "fuzz/fuzz_target.h"

namespace lidere::fuzz {

std::vector<Bytes> fuzz_seeds() {
  std::vector<Bytes> seeds;
  int n = 0;
  for (const std::int64_t classes : {2, 21, 300}) {  // palette PNGs, then 16-bit grayscale
    const std::string path = (scratch_dir() / ("seed" + std::to_string(n++) + ".png")).string();
    torch::manual_seed(n);
    datasets::write_label_png(path, torch::randint(0, classes, {7, 9}, torch::kLong), class_palette(classes));
    std::ifstream in(path, std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return seeds;
}

void fuzz_one(const std::uint8_t* data, std::size_t size) {
  const std::string path = write_scratch(data, size, ".png");
  try {
    const torch::Tensor labels = datasets::read_label_png(path);
    if (labels.dim() != 2) throw std::logic_error("a label map that is not (H, W)");
  } catch (const InputError& e) {
    expect_names(e.what(), path);
  }
}

}  // namespace lidere::fuzz
