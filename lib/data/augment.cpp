#include "data/augment.h"

#include <cmath>

#include <ATen/ATen.h>

#include "core/errors.h"

namespace lidere::data {
namespace {

torch::Tensor grayscale(const torch::Tensor& image) {  // ITU-R 601 luma, as torchvision
  return (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]).unsqueeze(0);
}

torch::Tensor blend(const torch::Tensor& image, const torch::Tensor& other, double factor) {
  return (factor * image + (1.0 - factor) * other).clamp(0.0, 1.0);
}

// The zoom's crop window: 1/U(1, up_factor) of each side, placed at random up to 20 times until it
// keeps at least 30% of the foreground; no zoom when no try does.
void draw_zoom(GeometricTransform& t, const AugmentSettings& s, const Annotation& annotation, Rng& rng) {
  const std::int64_t rows = t.source_rows, cols = t.source_cols;
  const double factor = rng.uniform(1.0, s.up_factor);
  const auto crop_rows = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(rows / factor)));
  const auto crop_cols = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(cols / factor)));
  const torch::Tensor mask = annotation.foreground(rows, cols);
  torch::Tensor foreground;
  double total = 0.0;
  if (mask.defined()) {
    foreground = mask.to(torch::kFloat);
    total = foreground.sum().item<double>();
  }
  for (int attempt = 0; attempt < 20; ++attempt) {
    const auto top = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(rows - crop_rows + 1)));
    const auto left = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(cols - crop_cols + 1)));
    if (total > 0 &&
        foreground.slice(-2, top, top + crop_rows).slice(-1, left, left + crop_cols).sum().item<double>() <
            0.3 * total) {
      continue;
    }
    t.crop_top = top, t.crop_left = left, t.crop_rows = crop_rows, t.crop_cols = crop_cols;
    return;
  }
}

void gaussian_blur(torch::Tensor& image, double sigma) {
  constexpr std::int64_t kSize = 21, kHalf = kSize / 2;
  const torch::Tensor x = torch::arange(-kHalf, kHalf + 1, torch::kFloat);
  torch::Tensor kernel = torch::exp(-0.5 * (x / sigma).pow(2));
  kernel = kernel / kernel.sum();
  // Reflect padding as torchvision; images smaller than the kernel's half-width replicate instead.
  torch::Tensor padded = image.unsqueeze(0);
  padded = image.size(1) > kHalf && image.size(2) > kHalf ? at::reflection_pad2d(padded, {kHalf, kHalf, kHalf, kHalf})
                                                          : at::replication_pad2d(padded, {kHalf, kHalf, kHalf, kHalf});
  const torch::Tensor horizontal = kernel.view({1, 1, 1, kSize}).expand({3, 1, 1, kSize});
  const torch::Tensor vertical = kernel.view({1, 1, kSize, 1}).expand({3, 1, kSize, 1});
  const auto depthwise = [](const torch::Tensor& input, const torch::Tensor& w) {
    return at::conv2d(input, w, torch::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1},
                      3);
  };
  image = depthwise(depthwise(padded, horizontal), vertical)[0];
}

void apply_photometric(torch::Tensor& image, const AugmentationPlan& plan) {
  if (plan.grayscale) image = grayscale(image).expand({3, -1, -1}).contiguous();
  for (std::int64_t op : plan.jitter_order) {
    if (op == 0) image = (image * plan.brightness).clamp(0.0, 1.0);
    if (op == 1) image = blend(image, grayscale(image).mean(), plan.contrast);
    if (op == 2) image = blend(image, grayscale(image).expand_as(image), plan.saturation);
  }
  if (plan.blur_sigma > 0) gaussian_blur(image, plan.blur_sigma);
}

}  // namespace

bool augmentation_is_cacheable(const AugmentSettings& settings) {
  return (settings.mode == "hflip" && settings.max_rotation == 0.0) || settings.mode == "none";
}

AugmentationPlan draw_augmentation(const AugmentSettings& s, std::int64_t rows, std::int64_t cols,
                                   const Annotation& annotation, Rng& rng) {
  AugmentationPlan plan;
  plan.geometry = GeometricTransform::identity(rows, cols);
  if (s.mode == "none") return plan;
  if (s.mode != "standard" && s.mode != "hflip") throw UsageError("unknown augmentation '" + s.mode + "'");
  if (s.mode == "standard" && rng.chance(0.8)) {
    if (rng.chance(0.5)) draw_zoom(plan.geometry, s, annotation, rng);
    plan.grayscale = rng.chance(0.3);
    if (rng.chance(0.5)) {
      // Factors are drawn first, then applied in a random order, as torchvision's ColorJitter.
      plan.brightness = rng.uniform(0.5, 2.0);
      plan.contrast = rng.uniform(0.5, 2.0);
      plan.saturation = rng.uniform(0.5, 2.0);
      plan.jitter_order = rng.permutation(3);
    }
    if (rng.chance(s.p_blur)) plan.blur_sigma = rng.uniform(1.0, 3.0);
  }
  plan.geometry.hflip = rng.chance(0.5);
  if (s.max_rotation > 0) plan.geometry.rotation_degrees = rng.uniform(-s.max_rotation, s.max_rotation);
  return plan;
}

torch::Tensor augment_image(const torch::Tensor& image, const AugmentationPlan& plan, std::int64_t out_rows,
                            std::int64_t out_cols) {
  torch::Tensor x = crop_and_scale(image, plan.geometry, /*smooth=*/true);
  apply_photometric(x, plan);
  return rotate_flip_resize(x, plan.geometry, out_rows, out_cols, /*smooth=*/true, 0.0);
}

void augment(torch::Tensor& image, torch::Tensor& label, const AugmentSettings& settings, Rng& rng,
             std::int64_t ignore_index) {
  Annotation annotation;
  if (label.defined()) annotation.label_map = LabelMap{label, ignore_index};
  const AugmentationPlan plan = draw_augmentation(settings, image.size(1), image.size(2), annotation, rng);
  const std::int64_t rows = image.size(1), cols = image.size(2);
  image = augment_image(image, plan, rows, cols);
  if (label.defined()) label = annotation.label_map->transformed(plan.geometry, rows, cols).classes;
}

}  // namespace lidere::data
