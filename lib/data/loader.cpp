#include "data/loader.h"

#include <algorithm>

#include "core/errors.h"
#include "core/rng.h"

namespace lidere::data {
namespace {

// Stream purposes, so that order and augmentation never share random numbers.
constexpr std::uint64_t kOrderStream = 1, kAugmentStream = 2;

}  // namespace

SampleLoader::SampleLoader(SampleSource source, LoaderSettings settings)
    : source_(std::move(source)), settings_(std::move(settings)) {
  if (source_.count <= 0) throw InputError("the dataset has no samples");
}

std::int64_t SampleLoader::sample_at(std::int64_t position) const {
  const std::int64_t n = images(), epoch = position / n;
  // Recomputing an epoch's permutation per sample costs O(n) and keeps the loader stateless.
  const std::vector<std::int64_t> order =
      Rng(settings_.seed, {kOrderStream, static_cast<std::uint64_t>(epoch)}).permutation(n);
  return order[static_cast<std::size_t>(position % n)];
}

Batch SampleLoader::training_batch(std::int64_t step) const {
  Batch batch;
  std::vector<torch::Tensor> images;
  for (std::int64_t j = 0; j < settings_.batch; ++j) {
    const std::int64_t position = step * settings_.batch + j;
    const std::int64_t index = sample_at(position);
    Sample sample = source_.read(index);
    Rng rng(settings_.seed, {kAugmentStream, static_cast<std::uint64_t>(position)});
    const AugmentationPlan plan =
        draw_augmentation(settings_.augment, sample.image.size(1), sample.image.size(2), sample.annotation, rng);
    images.push_back(augment_image(sample.image, plan, settings_.rows, settings_.cols));
    batch.annotations.push_back(std::move(sample.annotation));
    batch.transforms.push_back(plan.geometry);
    batch.names.push_back(source_.name(index));
  }
  batch.images = torch::stack(images);
  return batch;
}

std::int64_t SampleLoader::evaluation_batches(std::int64_t limit) const {
  const std::int64_t n = limit > 0 ? std::min(limit, images()) : images();
  return (n + settings_.batch - 1) / settings_.batch;
}

Batch SampleLoader::evaluation_batch(std::int64_t index, std::int64_t limit) const {
  const std::int64_t n = limit > 0 ? std::min(limit, images()) : images();
  Batch batch;
  std::vector<torch::Tensor> images;
  for (std::int64_t i = index * settings_.batch; i < std::min(n, (index + 1) * settings_.batch); ++i) {
    Sample sample = source_.read(i);
    images.push_back(resize_image(sample.image, settings_.rows, settings_.cols));
    batch.transforms.push_back(GeometricTransform::identity(sample.image.size(1), sample.image.size(2)));
    batch.annotations.push_back(std::move(sample.annotation));
    batch.names.push_back(source_.name(i));
  }
  batch.images = torch::stack(images);
  return batch;
}

}  // namespace lidere::data
