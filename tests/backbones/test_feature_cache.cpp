// The feature cache: computed once, keyed by image content and backbone fingerprint.
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "backbones/feature_cache.h"
#include "test_common.h"

using namespace lidere::backbones;

namespace {

// A backbone that counts the images it computes: features = 2x2 average pooling times a weight.
class CountingBackbone : public Backbone {
 public:
  explicit CountingBackbone(float scale, std::int64_t* computed)
      : weight_(torch::full({1}, scale)), computed_(computed) {}
  std::string describe() const override { return "counting backbone"; }
  std::int64_t parameter_count() const override { return 1; }
  std::int64_t stride() const override { return 2; }
  FeatureShape feature_shape(std::int64_t rows, std::int64_t cols) const override { return {3, {rows / 2, cols / 2}}; }
  torch::Tensor features(const torch::Tensor& images) override {
    *computed_ += images.size(0);
    return torch::avg_pool2d(images, 2) * weight_;
  }
  std::vector<torch::Tensor> weights() const override { return {weight_}; }
  void to(torch::Device device) override { weight_ = weight_.to(device); }

 private:
  torch::Tensor weight_;
  std::int64_t* computed_;
};

}  // namespace

CATCH_TEST_CASE("feature cache: once per image content, fingerprinted by the weights, robust to damage", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("feature_cache").string();
  torch::manual_seed(0);
  const torch::Tensor images = torch::rand({3, 3, 8, 10});
  std::int64_t computed = 0;
  CachedBackbone cached(std::make_unique<CountingBackbone>(1.0f, &computed), dir);

  const torch::Tensor first = cached.features(images);
  CATCH_REQUIRE(computed == 3);
  CATCH_REQUIRE(cached.misses() == 3);
  // float16-rounded, identical whether computed or read back
  CATCH_REQUIRE(torch::equal(first, torch::avg_pool2d(images, 2).to(torch::kFloat16).to(torch::kFloat32)));
  const torch::Tensor again = cached.features(images);
  CATCH_REQUIRE(computed == 3);
  CATCH_REQUIRE(cached.hits() == 3);
  CATCH_REQUIRE(torch::equal(again, first));

  // A mixed batch: only the new image (a horizontal flip is new content) is computed.
  const torch::Tensor flipped = images.narrow(0, 0, 1).flip({3});
  cached.features(torch::cat({images.narrow(0, 1, 2), flipped}));
  CATCH_REQUIRE(computed == 4);

  // Another input size is other content.
  cached.features(images.narrow(3, 0, 8));
  CATCH_REQUIRE(computed == 7);

  // Other weights: another fingerprint, another folder, nothing stale served.
  std::int64_t computed_other = 0;
  CachedBackbone other(std::make_unique<CountingBackbone>(2.0f, &computed_other), dir);
  CATCH_REQUIRE(other.directory() != cached.directory());
  CATCH_REQUIRE(torch::allclose(other.features(images), first * 2));
  CATCH_REQUIRE(computed_other == 3);

  // A damaged entry is recomputed and replaced.
  for (const auto& entry : std::filesystem::directory_iterator(cached.directory())) {
    std::ofstream(entry.path(), std::ios::binary | std::ios::trunc) << "garbage";
  }
  CATCH_REQUIRE(torch::equal(cached.features(images), first));
  CATCH_REQUIRE(computed == 10);
  CATCH_REQUIRE(torch::equal(cached.features(images), first));
  CATCH_REQUIRE(computed == 10);
}
