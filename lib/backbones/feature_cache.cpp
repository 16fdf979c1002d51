#include "backbones/feature_cache.h"

#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/content_hash.h"
#include "core/errors.h"
#include "core/tensor_file.h"

namespace lidere::backbones {

std::string backbone_fingerprint(const Backbone& backbone) {
  // The base weights only: adapters are trained per run (and stored in its checkpoint), so a run
  // records the same fingerprint before training as its trained model has when loaded.
  std::set<const void*> trained;
  for (const auto& [name, p] : backbone.adapter_parameters()) trained.insert(p.data_ptr());
  for (const auto& [name, p] : backbone.trainable_parameters()) trained.insert(p.data_ptr());
  ContentHash hash;
  hash.update(backbone.describe());
  for (const auto& w : backbone.weights()) {
    if (!trained.count(w.data_ptr())) hash.update(w);
  }
  return hash.hex();
}

CachedBackbone::CachedBackbone(std::unique_ptr<Backbone> inner, const std::string& cache_dir)
    : inner_(std::move(inner)), dir_((std::filesystem::path(cache_dir) / backbone_fingerprint(*inner_)).string()) {
  if (!inner_->trainable_parameters().empty() || !inner_->adapter_parameters().empty()) {
    // Its fingerprint leaves the adapters out, so the cache could not tell two adapted models apart.
    throw UsageError("the feature cache cannot serve a backbone that trains or has adapters (LoRA)");
  }
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  if (error) throw InputError(fmt::format("{}: cannot create the feature cache folder ({})", dir_, error.message()));
}

std::string CachedBackbone::entry_path(const torch::Tensor& image) const {
  ContentHash hash;
  hash.update(image);
  return (std::filesystem::path(dir_) / (hash.hex() + ".safetensors")).string();
}

torch::Tensor CachedBackbone::features(const torch::Tensor& images) {
  const auto B = images.size(0);
  std::vector<torch::Tensor> per_image(static_cast<std::size_t>(B));
  std::vector<std::string> paths;
  std::vector<std::int64_t> missing;
  for (std::int64_t i = 0; i < B; ++i) {
    paths.push_back(entry_path(images[i]));
    if (!std::filesystem::exists(paths.back())) {
      missing.push_back(i);
      continue;
    }
    try {
      per_image[i] = load_safetensors(paths.back()).at("features").to(torch::kFloat32);
      ++hits_;
    } catch (const InputError&) {
      missing.push_back(i);  // a damaged entry (e.g. a full disk) is recomputed and replaced
    }
  }
  if (!missing.empty()) {
    const torch::Tensor index = torch::tensor(missing, torch::kLong);
    const torch::Tensor computed = inner_->features(images.index_select(0, index.to(images.device())));
    for (std::size_t j = 0; j < missing.size(); ++j) {
      const torch::Tensor half = computed[static_cast<std::int64_t>(j)].to(torch::kCPU, torch::kFloat16).contiguous();
      save_safetensors(paths[missing[j]], {{"features", half}});
      per_image[missing[j]] = half.to(torch::kFloat32);
      ++misses_;
    }
  }
  return torch::stack(per_image).to(images.device());
}

}  // namespace lidere::backbones
