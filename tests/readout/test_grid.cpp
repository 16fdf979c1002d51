#include <cmath>

#include <torch/torch.h>

#include "readout/grid.h"
#include "test_common.h"

using namespace lidere::readout;

CATCH_TEST_CASE("normalized coordinates: x is the column, y the row, both ends included", "[unit]") {
  const auto c = normalized_coordinates({3, 5}, torch::kFloat64);  // 3 rows, 5 cols
  CATCH_REQUIRE(c.sizes() == torch::IntArrayRef({15, 2}));
  // token = row * cols + col
  CATCH_REQUIRE(c[0][0].item<double>() == 0.0);
  CATCH_REQUIRE(c[4][0].item<double>() == 1.0);   // last column
  CATCH_REQUIRE(c[4][1].item<double>() == 0.0);
  CATCH_REQUIRE(c[7][0].item<double>() == 0.5);   // row 1, col 2
  CATCH_REQUIRE(c[7][1].item<double>() == 0.5);
  CATCH_REQUIRE(c[14][1].item<double>() == 1.0);
}

CATCH_TEST_CASE("pair offsets are source minus target with squares", "[unit]") {
  const auto o = pair_offsets({2, 2}, {3, 3}, torch::kFloat64);
  CATCH_REQUIRE(o.sizes() == torch::IntArrayRef({4, 9, 4}));
  // source 3 = (x 1, y 1), target 1 = (x 0.5, y 0)
  CATCH_REQUIRE(o[3][1][0].item<double>() == 0.5);
  CATCH_REQUIRE(o[3][1][1].item<double>() == 1.0);
  CATCH_REQUIRE(o[3][1][2].item<double>() == 0.25);
  CATCH_REQUIRE(o[3][1][3].item<double>() == 1.0);
}

CATCH_TEST_CASE("sin/cos encoding layout [sin x f, cos x f, sin y f, cos y f]", "[unit]") {
  const auto e = sincos_encoding({2, 3}, 10.0, torch::kFloat64);
  CATCH_REQUIRE(e.sizes() == torch::IntArrayRef({6, 16}));
  const int token = 1 * 3 + 2;  // row 1, col 2
  const double x = 2 * 10.0, y = 1 * 10.0;
  const double freqs[] = {1.0, std::exp(-std::log(1e4) * 2 / 8), std::exp(-std::log(1e4) * 4 / 8),
                          std::exp(-std::log(1e4) * 6 / 8)};
  for (int i = 0; i < 4; ++i) {
    CATCH_REQUIRE(e[token][i].item<double>() == Approx(std::sin(x * freqs[i])).epsilon(1e-14));
    CATCH_REQUIRE(e[token][4 + i].item<double>() == Approx(std::cos(x * freqs[i])).epsilon(1e-14));
    CATCH_REQUIRE(e[token][8 + i].item<double>() == Approx(std::sin(y * freqs[i])).epsilon(1e-14));
    CATCH_REQUIRE(e[token][12 + i].item<double>() == Approx(std::cos(y * freqs[i])).epsilon(1e-14));
  }
}
