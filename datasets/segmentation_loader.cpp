#include "datasets/segmentation_loader.h"

#include <algorithm>

#include "core/errors.h"
#include "core/rng.h"

namespace lidere::datasets {
namespace {

// Stream purposes, so that order and augmentation never share random numbers.
constexpr std::uint64_t kOrderStream = 1, kAugmentStream = 2;

}  // namespace

SegmentationLoader::SegmentationLoader(std::vector<SegmentationSample> samples, LoaderSettings settings)
    : samples_(std::move(samples)), settings_(std::move(settings)) {
  if (samples_.empty()) throw InputError("the dataset has no samples");
}

const SegmentationSample& SegmentationLoader::at_position(std::int64_t position) const {
  const std::int64_t n = images(), epoch = position / n;
  // Recomputing an epoch's permutation per sample costs O(n) and keeps the loader stateless.
  const std::vector<std::int64_t> order =
      Rng(settings_.seed, {kOrderStream, static_cast<std::uint64_t>(epoch)}).permutation(n);
  return samples_[static_cast<std::size_t>(order[static_cast<std::size_t>(position % n)])];
}

tasks::Batch SegmentationLoader::training_batch(std::int64_t step) const {
  tasks::Batch batch;
  std::vector<torch::Tensor> images;
  for (std::int64_t j = 0; j < settings_.batch; ++j) {
    const std::int64_t position = step * settings_.batch + j;
    const SegmentationSample& sample = at_position(position);
    auto [image, label] = read_sample(sample);
    Rng rng(settings_.seed, {kAugmentStream, static_cast<std::uint64_t>(position)});
    augment(image, label, settings_.augment, rng);
    images.push_back(resize_image(image, settings_.rows, settings_.cols));
    batch.targets.push_back(resize_label(label, settings_.rows, settings_.cols));
    batch.names.push_back(sample.image);
  }
  batch.images = torch::stack(images);
  return batch;
}

std::int64_t SegmentationLoader::evaluation_batches(std::int64_t limit) const {
  const std::int64_t n = limit > 0 ? std::min(limit, images()) : images();
  return (n + settings_.batch - 1) / settings_.batch;
}

tasks::Batch SegmentationLoader::evaluation_batch(std::int64_t index, std::int64_t limit) const {
  const std::int64_t n = limit > 0 ? std::min(limit, images()) : images();
  tasks::Batch batch;
  std::vector<torch::Tensor> images;
  for (std::int64_t i = index * settings_.batch; i < std::min(n, (index + 1) * settings_.batch); ++i) {
    const SegmentationSample& sample = samples_[static_cast<std::size_t>(i)];
    auto [image, label] = read_sample(sample);
    images.push_back(resize_image(image, settings_.rows, settings_.cols));
    batch.targets.push_back(label);
    batch.names.push_back(sample.image);
  }
  batch.images = torch::stack(images);
  return batch;
}

}  // namespace lidere::datasets
