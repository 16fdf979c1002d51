// Post-processing of boundary probability maps, as the official code does before scoring
// (lidere/tasks/semantic_boundary.py): values below 0.01 set to 0, then non-maximum suppression
// along the gradient direction.
#pragma once

#include <cstdint>
#include <vector>

namespace lidere::tasks::boundary {

// p[x] < floor -> 0 (the official predict_contour_multi uses 0.01).
void zero_below(std::vector<float>& prob, float floor = 0.01f);

// The official nms_edges: gradient (gx, gy) by Sobel filters with reflected borders (scipy's
// 'reflect': the edge pixel repeated), angle a = atan2(gy, gx); a pixel keeps its value when it is
// at least the bilinearly interpolated values at +-(cos a, sin a) minus `tolerance` (samples
// outside the map read 0), else becomes 0. prob is row-major (rows x cols).
std::vector<float> suppress_non_maxima(const std::vector<float>& prob, int rows, int cols, float tolerance = 0.07f);

// The 8-bit PNG levels of a map in [0, 1], as the official writer (pred.mul(255).byte():
// truncation); 16-bit levels (x 65535, rounded) for finer PR curves.
std::vector<std::uint8_t> to_8bit(const std::vector<float>& prob);
std::vector<std::uint16_t> to_16bit(const std::vector<float>& prob);

}  // namespace lidere::tasks::boundary
