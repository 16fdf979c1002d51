// Tiled inference (the official process_tensor): tile positions that cover every pixel as the
// official tiling does where that one does, and results averaged over the tiles that hold a pixel.
#include "core/errors.h"
#include "inference/tiling.h"
#include "test_common.h"

using namespace lidere;
using Catch::Matchers::Contains;
using lidere::testing::thrown_message;

CATCH_TEST_CASE("tile origins: the official unfold positions, plus a last tile where those leave pixels", "[unit]") {
  using inference::tile_origins;
  const tasks::Tiling official{200, 40};
  // BSDS's 321 and 481 pad to 400 and 600: unfold's positions cover them.
  CATCH_CHECK(tile_origins(321, official) == std::vector<std::int64_t>{0, 160});
  CATCH_CHECK(tile_origins(481, official) == std::vector<std::int64_t>{0, 160, 320});
  CATCH_CHECK(tile_origins(200, official) == std::vector<std::int64_t>{0});
  CATCH_CHECK(tile_origins(1, official) == std::vector<std::int64_t>{0});
  // 390 pads to 400: unfold gives 0 and 160 (up to 360), the official averaging would divide by zero.
  CATCH_CHECK(tile_origins(390, official) == std::vector<std::int64_t>{0, 160, 200});
  for (std::int64_t length = 1; length < 900; length += 7) {
    for (const auto& t : {official, tasks::Tiling{64, 0}, tasks::Tiling{50, 49}}) {
      const auto origins = tile_origins(length, t);
      CATCH_CHECK(origins.front() == 0);
      CATCH_CHECK(origins.back() + t.size >= length);
      for (std::size_t i = 1; i < origins.size(); ++i) CATCH_CHECK(origins[i] - origins[i - 1] <= t.size);
    }
  }
  CATCH_CHECK_THAT(thrown_message<UsageError>([] { tile_origins(10, {20, 20}); }), Contains("overlap"));
  // From the command line: the official overlap int(0.2 x size) by default, 0 = whole images.
  CATCH_CHECK(tasks::make_tiling(200, -1).overlap == 40);
  CATCH_CHECK(tasks::make_tiling(256, 0).overlap == 0);
  CATCH_CHECK(tasks::make_tiling(0, -1).size == 0);
  CATCH_CHECK_THAT(thrown_message<UsageError>([] { tasks::make_tiling(50, 50); }), Contains("overlap"));
  CATCH_CHECK_THAT(thrown_message<UsageError>([] { tasks::make_tiling(-1, -1); }), Contains("--tile"));
}

CATCH_TEST_CASE("tiled inference: every pixel is the mean over the tiles that hold it", "[unit]") {
  torch::manual_seed(3);
  const torch::Tensor image = torch::rand({3, 75, 101});
  const tasks::Tiling tiles{40, 8};
  // A model that sees each tile's position through the pixels: returns the first channel, so the
  // average over overlapping tiles is the image itself wherever a tile holds the pixel.
  std::int64_t calls = 0;
  const auto first_channel = [&](const torch::Tensor& batch) {
    ++calls;
    CATCH_CHECK(batch.size(0) <= 4);
    CATCH_CHECK(batch.size(2) == 40);
    return tasks::Outputs{{"p", batch.slice(1, 0, 1).clone()}};
  };
  const torch::Tensor out = inference::predict_tiled(image, tiles, first_channel, 4).at("p")[0];
  CATCH_CHECK(out.sizes() == torch::IntArrayRef({75, 101}));
  CATCH_CHECK(torch::allclose(out, image[0], 1e-6, 1e-6));
  // Rows 0..79 padded: origins 0, 32 (ends 72 < 75) + 40; columns 0..119: 0, 32, 64 (ends 104).
  CATCH_CHECK(calls == (3 * 3 + 3) / 4);
  // A model that answers each tile with its own constant: overlaps hold the mean of their tiles.
  int k = 0;
  std::vector<float> values;
  const auto constant = [&](const torch::Tensor& batch) {
    torch::Tensor answer = torch::empty({batch.size(0), 1, batch.size(2), batch.size(3)});
    for (std::int64_t i = 0; i < batch.size(0); ++i) {
      values.push_back(static_cast<float>(++k));
      answer[i].fill_(values.back());
    }
    return tasks::Outputs{{"p", answer}};
  };
  const torch::Tensor mean = inference::predict_tiled(image, {40, 8}, constant, 2).at("p")[0];
  // Tiles in row-major order: (0,0)=1, (0,32)=2, (0,64)=3, (32,0)=4, ... Pixel (35, 35) lies in
  // the first four of rows {0, 32} x columns {0, 32}: 1, 2, 4, 5; pixel (0, 0) only in tile 1.
  CATCH_CHECK(mean[0][0].item<float>() == Approx(1));
  CATCH_CHECK(mean[35][35].item<float>() == Approx((1 + 2 + 4 + 5) / 4.0));
}

