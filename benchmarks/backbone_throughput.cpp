// Feature-extraction throughput of a backbone: images per second at a given input size, after
// warm-up, no gradients. Prints one JSON line. Not part of the correctness suite.
//   backbone_throughput BACKBONE SIZE BATCH ITERATIONS
#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <torch/torch.h>

#include "backbones/registry.h"
#include "core/errors.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: backbone_throughput BACKBONE SIZE BATCH ITERATIONS\n");
    return 2;
  }
  try {
    const std::string spec = argv[1];
    const auto size = std::stoll(argv[2]), batch = std::stoll(argv[3]);
    const int iterations = std::stoi(argv[4]);
    const auto backbone = lidere::backbones::open_backbone(spec);
    torch::NoGradGuard no_grad;
    const torch::Tensor images = torch::rand({batch, 3, size, size});
    backbone->features(images);  // warm-up
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) backbone->features(images);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto shape = backbone->feature_shape(size, size);
    fmt::print("{{\"backbone\": \"{}\", \"size\": {}, \"batch\": {}, \"threads\": {}, \"images_per_s\": {:.2f}, "
               "\"ms_per_image\": {:.1f}, \"features\": [{}, {}, {}]}}\n",
               backbone->describe(), size, batch, torch::get_num_threads(), batch * iterations / seconds,
               1e3 * seconds / (batch * iterations), shape.channels, shape.grid.rows, shape.grid.cols);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  }
  return 0;
}
