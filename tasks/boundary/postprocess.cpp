#include "tasks/boundary/postprocess.h"

#include <algorithm>
#include <cmath>

namespace lidere::tasks::boundary {

void zero_below(std::vector<float>& prob, float floor) {
  for (auto& p : prob) {
    if (p < floor) p = 0.0f;
  }
}

std::vector<float> suppress_non_maxima(const std::vector<float>& prob, int rows, int cols, float tolerance) {
  const auto at = [&](int r, int c) { return prob[static_cast<std::size_t>(r) * cols + c]; };
  // scipy 'reflect' borders: index -1 reads 0, index n reads n - 1.
  const auto reflected = [&](int r, int c) {
    r = r < 0 ? -r - 1 : (r >= rows ? 2 * rows - r - 1 : r);
    c = c < 0 ? -c - 1 : (c >= cols ? 2 * cols - c - 1 : c);
    return at(std::clamp(r, 0, rows - 1), std::clamp(c, 0, cols - 1));
  };
  // Bilinear interpolation at (r, c); 0 outside the map (scipy map_coordinates, order 1, 'constant').
  const auto sample = [&](double r, double c) -> double {
    if (r < 0 || c < 0 || r > rows - 1 || c > cols - 1) return 0.0;
    const int r0 = std::min(static_cast<int>(std::floor(r)), rows - 1),
              c0 = std::min(static_cast<int>(std::floor(c)), cols - 1);
    const int r1 = std::min(r0 + 1, rows - 1), c1 = std::min(c0 + 1, cols - 1);
    const double fr = r - r0, fc = c - c0;
    return (1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c1)) + fr * ((1 - fc) * at(r1, c0) + fc * at(r1, c1));
  };
  std::vector<float> out(prob.size(), 0.0f);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      // Sobel: derivative [-1, 0, 1] along one axis, smoothing [1, 2, 1] along the other.
      double gx = 0, gy = 0;
      for (int k = -1; k <= 1; ++k) {
        const double w = k == 0 ? 2.0 : 1.0;
        gx += w * (reflected(r + k, c + 1) - reflected(r + k, c - 1));
        gy += w * (reflected(r + 1, c + k) - reflected(r - 1, c + k));
      }
      const double angle = std::atan2(gy, gx);
      const double dr = std::sin(angle), dc = std::cos(angle);
      const double p = at(r, c);
      if (p >= sample(r + dr, c + dc) - tolerance && p >= sample(r - dr, c - dc) - tolerance) {
        out[static_cast<std::size_t>(r) * cols + c] = static_cast<float>(p);
      }
    }
  }
  return out;
}

std::vector<std::uint8_t> to_8bit(const std::vector<float>& prob) {
  std::vector<std::uint8_t> out(prob.size());
  for (std::size_t i = 0; i < prob.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(std::clamp(prob[i] * 255.0f, 0.0f, 255.0f));  // truncates
  }
  return out;
}

std::vector<std::uint16_t> to_16bit(const std::vector<float>& prob) {
  std::vector<std::uint16_t> out(prob.size());
  for (std::size_t i = 0; i < prob.size(); ++i) {
    out[i] = static_cast<std::uint16_t>(std::lround(std::clamp(prob[i], 0.0f, 1.0f) * 65535.0f));
  }
  return out;
}

}  // namespace lidere::tasks::boundary
