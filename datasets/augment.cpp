#include "datasets/augment.h"

#include <cmath>

#include <ATen/ATen.h>

#include "core/errors.h"

namespace lidere::datasets {
namespace {

torch::Tensor grayscale(const torch::Tensor& image) {  // ITU-R 601 luma, as torchvision
  return (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]).unsqueeze(0);
}

torch::Tensor blend(const torch::Tensor& image, const torch::Tensor& other, double factor) {
  return (factor * image + (1.0 - factor) * other).clamp(0.0, 1.0);
}

void zoom(torch::Tensor& image, torch::Tensor& label, const AugmentSettings& s, Rng& rng) {
  const std::int64_t rows = image.size(1), cols = image.size(2);
  const double factor = rng.uniform(1.0, s.up_factor);
  const auto crop_rows = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(rows / factor)));
  const auto crop_cols = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::lround(cols / factor)));
  torch::Tensor foreground;
  double total = 0.0;
  if (label.defined()) {
    foreground = ((label != 0) & (label != s.ignore_index)).to(torch::kFloat);
    total = foreground.sum().item<double>();
  }
  for (int attempt = 0; attempt < 20; ++attempt) {
    const auto top = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(rows - crop_rows + 1)));
    const auto left = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(cols - crop_cols + 1)));
    const auto window = [&](const torch::Tensor& t) {
      return t.slice(-2, top, top + crop_rows).slice(-1, left, left + crop_cols);
    };
    if (total > 0 && window(foreground).sum().item<double>() < 0.3 * total) continue;
    image = resize_image(window(image), rows, cols);
    if (label.defined()) label = resize_label(window(label), rows, cols);
    return;
  }
}

void colour_jitter(torch::Tensor& image, Rng& rng) {
  // Factors are drawn first, then applied in a random order, as torchvision's ColorJitter.
  const double brightness = rng.uniform(0.5, 2.0), contrast = rng.uniform(0.5, 2.0), saturation = rng.uniform(0.5, 2.0);
  for (std::int64_t op : rng.permutation(3)) {
    if (op == 0) image = (image * brightness).clamp(0.0, 1.0);
    if (op == 1) image = blend(image, grayscale(image).mean(), contrast);
    if (op == 2) image = blend(image, grayscale(image).expand_as(image), saturation);
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

}  // namespace

torch::Tensor resize_image(const torch::Tensor& image, std::int64_t rows, std::int64_t cols) {
  if (image.size(1) == rows && image.size(2) == cols) return image;
  return at::_upsample_bilinear2d_aa(image.unsqueeze(0), {rows, cols}, false)[0].clamp(0.0, 1.0);
}

torch::Tensor resize_label(const torch::Tensor& label, std::int64_t rows, std::int64_t cols) {
  if (label.size(0) == rows && label.size(1) == cols) return label;
  return at::upsample_nearest2d(label.unsqueeze(0).unsqueeze(0).to(torch::kFloat), {rows, cols})[0][0].to(
      label.scalar_type());
}

bool augmentation_is_cacheable(const std::string& mode) { return mode == "hflip" || mode == "none"; }

void augment(torch::Tensor& image, torch::Tensor& label, const AugmentSettings& s, Rng& rng) {
  if (s.mode == "none") return;
  if (s.mode != "standard" && s.mode != "hflip") throw UsageError("unknown augmentation '" + s.mode + "'");
  if (s.mode == "standard" && rng.chance(0.8)) {
    if (rng.chance(0.5)) zoom(image, label, s, rng);
    if (rng.chance(0.3)) image = grayscale(image).expand({3, -1, -1}).contiguous();
    if (rng.chance(0.5)) colour_jitter(image, rng);
    if (rng.chance(s.p_blur)) gaussian_blur(image, rng.uniform(1.0, 3.0));
  }
  if (rng.chance(0.5)) {
    image = image.flip(-1);
    if (label.defined()) label = label.flip(-1);
  }
}

}  // namespace lidere::datasets
