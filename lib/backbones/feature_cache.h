// An on-disk cache of backbone features. The backbone is frozen, so the features of an image
// never change: without augmentation, training computes them once and then never runs the
// backbone again (an image and its horizontal flip are two cache entries).
//
// An entry is keyed by the content of the image the backbone sees (after resizing, so the input
// size is part of it) and by the backbone's fingerprint (architecture, feature layers and every
// weight): changing any of them can never serve stale features. Entries are float16 safetensors
// files, written atomically; an unreadable entry is recomputed and replaced.
//
// Layout: <dir>/<backbone fingerprint>/<image key>.safetensors
#pragma once

#include <memory>
#include <string>

#include "backbones/backbone.h"

namespace lidere::backbones {

// A hash of what a backbone computes: its description (architecture, feature layers) and all its
// frozen weights (trainable ones, such as LoRA adapters, are what a checkpoint stores instead).
std::string backbone_fingerprint(const Backbone& backbone);

class CachedBackbone : public Backbone {
 public:
  // Throws UsageError for a backbone with trainable parameters (its features change as it trains).
  CachedBackbone(std::unique_ptr<Backbone> inner, const std::string& cache_dir);

  std::string describe() const override { return inner_->describe() + " [feature cache]"; }
  std::int64_t parameter_count() const override { return inner_->parameter_count(); }
  std::int64_t stride() const override { return inner_->stride(); }
  FeatureShape feature_shape(std::int64_t rows, std::int64_t cols) const override {
    return inner_->feature_shape(rows, cols);
  }
  // Features as the cache stores them (float16-rounded, returned as float32), whether they were
  // computed now or read back, so that a run sees the same values either way.
  torch::Tensor features(const torch::Tensor& images) override;
  std::vector<torch::Tensor> weights() const override { return inner_->weights(); }
  void to(torch::Device device) override { inner_->to(device); }

  std::int64_t hits() const { return hits_; }
  std::int64_t misses() const { return misses_; }
  const std::string& directory() const { return dir_; }

 private:
  std::string entry_path(const torch::Tensor& image) const;

  std::unique_ptr<Backbone> inner_;
  std::string dir_;
  std::int64_t hits_ = 0, misses_ = 0;
};

}  // namespace lidere::backbones
