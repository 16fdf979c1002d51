// One geometric transform, applied by the image and by every kind of annotation to itself: points,
// boxes and dense maps end up where the transformed image shows what they mark, keypoints swap left
// and right under a flip, and anything that leaves the image is dropped or made invisible.
#include <cmath>

#include <torch/torch.h>

#include "core/errors.h"
#include "core/rng.h"
#include "data/annotation.h"
#include "data/augment.h"
#include "data/geometry.h"
#include "test_common.h"

using namespace lidere;
using namespace lidere::data;

namespace {

// A transform with every stage: crop, scale, rotation, flip.
GeometricTransform full_transform(double degrees, bool flip) {
  GeometricTransform t = GeometricTransform::identity(60, 80);
  t.crop_top = 6, t.crop_left = 10, t.crop_rows = 40, t.crop_cols = 50;
  t.rows = 60, t.cols = 80;
  t.rotation_degrees = degrees;
  t.hflip = flip;
  return t;
}

// The centre of the pixels of class 1, in continuous coordinates (x, y).
std::pair<double, double> centre_of(const torch::Tensor& labels) {
  const torch::Tensor where = (labels == 1).nonzero().to(torch::kDouble);
  return {where.select(1, 1).mean().item<double>() + 0.5, where.select(1, 0).mean().item<double>() + 0.5};
}

}  // namespace

CATCH_TEST_CASE("transforms: a keypoint lands where the transformed map shows its pixel", "[unit]") {
  for (const double degrees : {0.0, 17.0, -40.0}) {
    for (const bool flip : {false, true}) {
      const GeometricTransform t = full_transform(degrees, flip);
      // A 3x3 blob around pixel (24, 31): its centre is the point (31.5, 24.5).
      torch::Tensor blob = torch::zeros({60, 80}, torch::kLong);
      blob.slice(0, 23, 26).slice(1, 30, 33).fill_(1);
      const LabelMap mapped = LabelMap{blob, 255}.transformed(t, 60, 80);
      Keypoints k{torch::tensor({31.5, 24.5}, torch::kDouble).view({1, 1, 2}), torch::ones({1, 1}, torch::kBool), {}};
      const Keypoints moved = k.transformed(t, 60, 80);
      const auto [x, y] = centre_of(mapped.classes);
      CATCH_INFO("degrees " << degrees << " flip " << flip);
      CATCH_CHECK(moved.visible[0][0].item<bool>());
      CATCH_CHECK(moved.xy[0][0][0].item<double>() == Approx(x).margin(1.0));
      CATCH_CHECK(moved.xy[0][0][1].item<double>() == Approx(y).margin(1.0));
      // Rotation fills the corners with the ignore index, never with a class.
      if (degrees != 0.0) CATCH_CHECK(mapped.classes[0][0].item<std::int64_t>() == 255);
    }
  }
}

CATCH_TEST_CASE("transforms: boxes become the bounding box of their mapped corners, clipped", "[unit]") {
  const GeometricTransform flipped = full_transform(0.0, true);
  Boxes boxes{torch::tensor({20.0, 10.0, 30.0, 20.0, 0.0, 0.0, 12.0, 8.0}, torch::kDouble).view({2, 4}),
              torch::tensor({3, 5}, torch::kLong), torch::tensor({false, true})};
  const Boxes out = boxes.transformed(flipped, 60, 80);
  // Crop (10, 6), scale 80/50 = 1.6 and 60/40 = 1.5, flip x -> 80 - x: the first box
  // [20, 10, 30, 20] -> x in [16, 32] -> flipped [48, 64], y in [6, 21].
  CATCH_REQUIRE(out.size() == 2);
  CATCH_CHECK(out.xyxy[0][0].item<double>() == Approx(48.0));
  CATCH_CHECK(out.xyxy[0][2].item<double>() == Approx(64.0));
  CATCH_CHECK(out.xyxy[0][1].item<double>() == Approx(6.0));
  CATCH_CHECK(out.xyxy[0][3].item<double>() == Approx(21.0));
  // The second box starts outside the crop: clipped to the image, its class and flag kept.
  CATCH_CHECK(out.xyxy[1][2].item<double>() == Approx(80.0));
  CATCH_CHECK(out.classes[1].item<std::int64_t>() == 5);
  CATCH_CHECK(out.ignore[1].item<bool>());
  // A box wholly outside the crop window is dropped.
  Boxes outside{torch::tensor({0.0, 0.0, 5.0, 5.0}, torch::kDouble).view({1, 4}), torch::tensor({1}, torch::kLong),
                torch::tensor({false})};
  CATCH_CHECK(outside.transformed(flipped, 60, 80).size() == 0);
  // Rotated boxes still hold their object: the box of a rotated blob covers the rotated blob.
  const GeometricTransform rotated = full_transform(30.0, false);
  torch::Tensor blob = torch::zeros({60, 80}, torch::kLong);
  blob.slice(0, 15, 25).slice(1, 25, 45).fill_(1);
  const torch::Tensor mapped = LabelMap{blob, 255}.transformed(rotated, 60, 80).classes;
  Boxes around{torch::tensor({25.0, 15.0, 45.0, 25.0}, torch::kDouble).view({1, 4}), torch::tensor({1}, torch::kLong),
               torch::tensor({false})};
  const torch::Tensor box = around.transformed(rotated, 60, 80).xyxy[0];
  const torch::Tensor where = (mapped == 1).nonzero();
  CATCH_CHECK(where.select(1, 1).min().item<double>() + 0.5 >= box[0].item<double>() - 1);
  CATCH_CHECK(where.select(1, 1).max().item<double>() + 0.5 <= box[2].item<double>() + 1);
  CATCH_CHECK(where.select(1, 0).min().item<double>() + 0.5 >= box[1].item<double>() - 1);
  CATCH_CHECK(where.select(1, 0).max().item<double>() + 0.5 <= box[3].item<double>() + 1);
}

CATCH_TEST_CASE("transforms: a flip swaps left and right keypoints; points that leave become invisible", "[unit]") {
  // Keypoints: 0 = left eye, 1 = right eye, 2 = nose (on the midline).
  Keypoints k{torch::tensor({10.0, 5.0, 30.0, 5.0, 20.0, 9.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0}, torch::kDouble)
                  .view({2, 3, 2}),
              torch::tensor({true, true, true, true, false, true}).view({2, 3}),
              {1, 0, 2}};
  GeometricTransform flip = GeometricTransform::identity(20, 40);
  flip.hflip = true;
  const Keypoints f = k.transformed(flip, 20, 40);
  // The left eye's slot now holds the mirrored right eye (x 40 - 30 = 10), and vice versa.
  CATCH_CHECK(f.xy[0][0][0].item<double>() == Approx(10.0));
  CATCH_CHECK(f.xy[0][1][0].item<double>() == Approx(30.0));
  CATCH_CHECK(f.xy[0][2][0].item<double>() == Approx(20.0));
  CATCH_CHECK_FALSE(f.visible[1][0].item<bool>());  // it was the (invisible) right eye
  CATCH_CHECK(f.visible[1][1].item<bool>());
  // A crop that leaves the first instance's right eye outside: invisible, the others kept.
  GeometricTransform crop = GeometricTransform::identity(20, 40);
  crop.crop_rows = 20, crop.crop_cols = 25, crop.rows = 20, crop.cols = 25;
  const Keypoints c = k.transformed(crop, 20, 25);
  CATCH_CHECK(c.visible[0][0].item<bool>());
  CATCH_CHECK_FALSE(c.visible[0][1].item<bool>());
  // Flip pairs must list every keypoint.
  Keypoints wrong = k;
  wrong.flip_pairs = {1, 0};
  CATCH_CHECK_THROWS_AS(wrong.transformed(flip, 20, 40), UsageError);
}

CATCH_TEST_CASE("transforms: the image and its annotations stay aligned through drawn augmentations", "[unit]") {
  // An image whose red channel encodes the label, as test_loader's datasets do.
  torch::Tensor labels = torch::zeros({48, 64}, torch::kLong);
  labels.slice(0, 8, 30).slice(1, 10, 40).fill_(1);
  const torch::Tensor image = (labels.to(torch::kFloat) * 0.8).unsqueeze(0).repeat({3, 1, 1});
  Annotation annotation;
  annotation.label_map = LabelMap{labels, 255};
  annotation.value_map = ValueMap{labels.to(torch::kFloat).unsqueeze(0)};
  for (std::uint64_t seed = 0; seed < 30; ++seed) {
    Rng rng(seed);
    const AugmentationPlan plan = draw_augmentation({"standard", 1.5, 0.0, 20.0}, 48, 64, annotation, rng);
    const torch::Tensor augmented = augment_image(image, plan, 24, 32);
    const Annotation moved = annotation.transformed(plan.geometry, 24, 32);
    CATCH_REQUIRE(moved.label_map->classes.sizes() == torch::IntArrayRef({24, 32}));
    CATCH_REQUIRE(moved.value_map->values.sizes() == torch::IntArrayRef({1, 24, 32}));
    // Pixels labelled 1 are bright in the image, unless colour jitter or grayscale moved them.
    if (!plan.grayscale && plan.jitter_order.empty()) {
      const torch::Tensor on = moved.label_map->classes == 1;
      if (on.sum().item<std::int64_t>() > 20) {
        CATCH_CHECK(augmented[0].index({on}).mean().item<double>() > 0.5);
      }
    }
    CATCH_CHECK(torch::equal(moved.value_map->values[0] == 1, moved.label_map->classes == 1));
  }
  // Rotation is drawn only when asked for, after every other draw, so that the other draws stay.
  Rng a(5), b(5);
  const auto without = draw_augmentation({"standard", 1.5, 0.0, 0.0}, 48, 64, annotation, a);
  const auto with = draw_augmentation({"standard", 1.5, 0.0, 10.0}, 48, 64, annotation, b);
  CATCH_CHECK(without.geometry.rotation_degrees == 0.0);
  CATCH_CHECK(std::abs(with.geometry.rotation_degrees) <= 10.0);
  CATCH_CHECK(without.geometry.hflip == with.geometry.hflip);
  CATCH_CHECK(without.geometry.crop_top == with.geometry.crop_top);
  CATCH_CHECK(augmentation_is_cacheable({"hflip", 1.5, 0.0, 0.0}));
  CATCH_CHECK_FALSE(augmentation_is_cacheable({"hflip", 1.5, 0.0, 5.0}));
}

CATCH_TEST_CASE("transforms: foreground of each annotation kind", "[unit]") {
  Annotation a;
  CATCH_CHECK_FALSE(a.foreground(4, 5).defined());
  a.boxes = Boxes{torch::tensor({1.0, 1.0, 3.0, 2.0}, torch::kDouble).view({1, 4}), torch::tensor({0}, torch::kLong),
                  torch::tensor({false})};
  a.keypoints = Keypoints{torch::tensor({4.5, 3.5}, torch::kDouble).view({1, 1, 2}), torch::ones({1, 1}, torch::kBool), {}};
  const torch::Tensor f = a.foreground(4, 5);
  CATCH_CHECK(f.sum().item<std::int64_t>() == 2 + 1);  // the box's 2 x 1 pixels, the keypoint's pixel
  CATCH_CHECK(f[1][1].item<bool>());
  CATCH_CHECK(f[3][4].item<bool>());
}
