// What the feature cache saves in a training epoch: N photographs, the default backbone
// (EfficientNet-Lite0) and a LiDeRe readout trained with AdamW on a segmentation loss (random
// labels: the cost does not depend on them). Times one epoch that runs the backbone, one that
// fills the cache and one served from it. Prints one JSON line. Not part of the correctness suite.
//   cache_epoch IMAGE_DIR SIZE IMAGES BATCH
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "backbones/feature_cache.h"
#include "backbones/registry.h"
#include "core/image_io.h"
#include "readout/lidere_model.h"

namespace {

using Clock = std::chrono::steady_clock;

double epoch_seconds(lidere::backbones::Backbone& backbone, lidere::readout::LiDeRe& readout,
                     torch::optim::AdamW& optimizer, const std::vector<torch::Tensor>& batches,
                     const std::vector<torch::Tensor>& labels) {
  const auto start = Clock::now();
  for (std::size_t i = 0; i < batches.size(); ++i) {
    torch::Tensor features;
    {
      torch::NoGradGuard no_grad;  // frozen backbone
      features = backbone.features(batches[i]);
    }
    optimizer.zero_grad();
    const torch::Tensor logits = readout->forward(features).squeeze(2);
    torch::nn::functional::cross_entropy(logits, labels[i]).backward();
    optimizer.step();
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: cache_epoch IMAGE_DIR SIZE IMAGES BATCH\n");
    return 2;
  }
  try {
    const std::string image_dir = argv[1];
    const auto size = std::stoll(argv[2]), count = std::stoll(argv[3]), batch = std::stoll(argv[4]);
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(image_dir)) {
      if (e.path().extension() == ".jpg") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    files.resize(std::min<std::size_t>(files.size(), static_cast<std::size_t>(count)));
    std::vector<torch::Tensor> images;
    for (const auto& f : files) {
      images.push_back(lidere::backbones::resize_images(lidere::read_image_rgb(f).unsqueeze(0), size, size)[0]);
    }
    auto backbone = lidere::backbones::open_backbone("efficientnet-lite0");
    const auto shape = backbone->feature_shape(size, size);
    lidere::readout::ReadoutConfig config;
    config.feature_channels = shape.channels;
    config.feature_grid = shape.grid;
    config.base_grid = {shape.grid.rows * 2, shape.grid.cols * 2};
    config.classes = 2;
    torch::manual_seed(0);
    lidere::readout::LiDeRe readout(config);
    torch::optim::AdamW optimizer(readout->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(0));
    std::vector<torch::Tensor> batches, labels;
    const auto out_size = config.base_grid.rows * config.upsample_factor();
    for (std::size_t i = 0; i < images.size(); i += static_cast<std::size_t>(batch)) {
      const auto end = std::min(images.size(), i + static_cast<std::size_t>(batch));
      batches.push_back(torch::stack(std::vector<torch::Tensor>(images.begin() + i, images.begin() + end)));
      labels.push_back(torch::randint(0, 2, {batches.back().size(0), out_size, out_size}, torch::kLong));
    }
    epoch_seconds(*backbone, readout, optimizer, batches, labels);  // warm-up: allocations, caches
    const double uncached = epoch_seconds(*backbone, readout, optimizer, batches, labels);
    const auto cache_dir = std::filesystem::temp_directory_path() / fmt::format("lidere_cache_bench_{}", ::getpid());
    lidere::backbones::CachedBackbone cached(std::move(backbone), cache_dir.string());
    const double filling = epoch_seconds(cached, readout, optimizer, batches, labels);
    const double served = epoch_seconds(cached, readout, optimizer, batches, labels);
    std::filesystem::remove_all(cache_dir);
    fmt::print("{{\"size\": {}, \"images\": {}, \"batch\": {}, \"threads\": {}, \"epoch_s_backbone\": {:.2f}, "
               "\"epoch_s_filling_cache\": {:.2f}, \"epoch_s_from_cache\": {:.2f}, \"speedup\": {:.2f}, "
               "\"cache_hits\": {}}}\n",
               size, images.size(), batch, torch::get_num_threads(), uncached, filling, served, uncached / served,
               cached.hits());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  }
  return 0;
}
