#include "tasks/detection/centernet.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <ATen/ATen.h>

#include "core/errors.h"

namespace lidere::tasks::detection {

Targets make_targets(const data::Boxes& boxes, std::int64_t rows, std::int64_t cols) {
  Targets t;
  t.heatmap = torch::zeros({rows, cols}, torch::kFloat);
  t.sizes = torch::zeros({2, rows, cols}, torch::kFloat);
  t.labels = torch::zeros({rows, cols}, torch::kLong);
  if (boxes.size() == 0) return t;
  const torch::Tensor b = boxes.xyxy.to(torch::kDouble).contiguous();
  const torch::Tensor classes = boxes.classes.to(torch::kLong).contiguous();
  const torch::Tensor ignore = boxes.ignore.defined() ? boxes.ignore.to(torch::kBool).contiguous()
                                                      : torch::zeros({boxes.size()}, torch::kBool);
  const auto row_index = torch::arange(rows, torch::kDouble).view({rows, 1});
  const auto col_index = torch::arange(cols, torch::kDouble).view({1, cols});
  torch::Tensor heat = torch::zeros({rows, cols}, torch::kDouble);
  torch::Tensor nearest = torch::full({rows, cols}, 0.1, torch::kDouble);  // normalised distance to beat
  const double* box = b.data_ptr<double>();
  for (std::int64_t n = 0; n < boxes.size(); ++n) {
    if (ignore[n].item<bool>()) continue;
    const double x0 = box[4 * n], y0 = box[4 * n + 1], x1 = box[4 * n + 2], y1 = box[4 * n + 3];
    const double w = x1 - x0, h = y1 - y0;
    if (!(w > 0 && h > 0)) continue;
    // The official centre is the mean pixel index of the box's mask: continuous centre - 0.5.
    const double cr = (y0 + y1) / 2 - 0.5, cc = (x0 + x1) / 2 - 0.5;
    const double s = 0.02 * (5 * std::sqrt(static_cast<double>(rows)) + 0.25 * std::sqrt(w * h));
    const torch::Tensor dr = row_index - cr, dc = col_index - cc;
    heat += torch::exp(-torch::sqrt(dr * dr + dc * dc) / (2 * s * s));
    const torch::Tensor dn = torch::sqrt((dr / rows) * (dr / rows) + (dc / cols) * (dc / cols));
    const torch::Tensor closer = dn < nearest;
    nearest = torch::where(closer, dn, nearest);
    t.sizes[0].masked_fill_(closer, static_cast<float>(w / static_cast<double>(cols)));
    t.sizes[1].masked_fill_(closer, static_cast<float>(h / static_cast<double>(rows)));
    t.labels.masked_fill_(closer, classes[n].item<std::int64_t>() + 1);
  }
  t.heatmap = heat.to(torch::kFloat);
  return t;
}

torch::Tensor soft_sigmoid_focal_loss(const torch::Tensor& logits, const torch::Tensor& targets, double alpha,
                                      double gamma) {
  const torch::Tensor p = logits.sigmoid();
  const torch::Tensor ce = at::binary_cross_entropy_with_logits(logits, targets, {}, {}, at::Reduction::None);
  const torch::Tensor p_t = p * targets + (1 - p) * (1 - targets);
  torch::Tensor loss = ce * (1 - p_t).pow(gamma);
  if (alpha >= 0) loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss;
  return loss.mean();
}

LossTerms centernet_loss(const torch::Tensor& centre_logits, const torch::Tensor& sizes, const torch::Tensor& class_logits,
                         const torch::Tensor& heatmap_target, const torch::Tensor& size_target,
                         const torch::Tensor& label_target, const LossWeights& weights) {
  const std::int64_t h = centre_logits.size(2), w = centre_logits.size(3);
  const auto device = centre_logits.device();
  torch::Tensor heat = heatmap_target.to(device, torch::kFloat).unsqueeze(1);
  torch::Tensor size = size_target.to(device, torch::kFloat);
  torch::Tensor labels = label_target.to(device, torch::kFloat).unsqueeze(1);
  if (heat.size(2) != h || heat.size(3) != w) {
    heat = at::upsample_bilinear2d(heat, {h, w}, /*align_corners=*/false);
    size = at::upsample_bilinear2d(size, {h, w}, false);
    labels = at::upsample_nearest2d(labels, {h, w});
  }
  LossTerms terms;
  terms.heatmap = soft_sigmoid_focal_loss(centre_logits.to(torch::kFloat), heat);
  const torch::Tensor size_mask = size > 0;
  const torch::Tensor size_error = (sizes.to(torch::kFloat) - size).abs();
  terms.size = size_mask.any().item<bool>() ? size_error.masked_select(size_mask).mean() : size_error.sum() * 0;
  const torch::Tensor label = labels.squeeze(1).to(torch::kLong);
  const torch::Tensor labelled = label != 0;
  const torch::Tensor ce = at::cross_entropy_loss(class_logits.to(torch::kFloat), label, {}, at::Reduction::None);
  terms.classes = labelled.any().item<bool>() ? ce.masked_select(labelled).mean() : ce.sum() * 0;
  terms.total = weights.heatmap * terms.heatmap + weights.size * terms.size + weights.classes * terms.classes;
  return terms;
}

std::vector<std::int64_t> nms(const torch::Tensor& boxes, const torch::Tensor& scores, double iou_threshold) {
  const torch::Tensor b = boxes.to(torch::kDouble).contiguous();
  const torch::Tensor s = scores.to(torch::kDouble).contiguous();
  const std::int64_t n = b.size(0);
  const double* x = b.data_ptr<double>();
  const double* score = s.data_ptr<double>();
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t i, std::int64_t j) { return score[i] > score[j]; });
  std::vector<char> suppressed(static_cast<std::size_t>(n), 0);
  std::vector<std::int64_t> keep;
  const auto area = [&](std::int64_t i) { return (x[4 * i + 2] - x[4 * i]) * (x[4 * i + 3] - x[4 * i + 1]); };
  for (std::size_t a = 0; a < order.size(); ++a) {
    const std::int64_t i = order[a];
    if (suppressed[static_cast<std::size_t>(i)]) continue;
    keep.push_back(i);
    for (std::size_t c = a + 1; c < order.size(); ++c) {
      const std::int64_t j = order[c];
      if (suppressed[static_cast<std::size_t>(j)]) continue;
      const double iw = std::max(0.0, std::min(x[4 * i + 2], x[4 * j + 2]) - std::max(x[4 * i], x[4 * j]));
      const double ih = std::max(0.0, std::min(x[4 * i + 3], x[4 * j + 3]) - std::max(x[4 * i + 1], x[4 * j + 1]));
      const double inter = iw * ih;
      const double iou = inter / (area(i) + area(j) - inter);
      if (iou > iou_threshold) suppressed[static_cast<std::size_t>(j)] = 1;
    }
  }
  return keep;
}

torch::Tensor decode_detections(const torch::Tensor& centre_logits, const torch::Tensor& sizes,
                                const torch::Tensor& class_logits, std::int64_t rows, std::int64_t cols,
                                const DecodeSettings& settings) {
  if (centre_logits.dim() != 3 || sizes.dim() != 3 || class_logits.dim() != 3 || sizes.size(0) != 2) {
    throw UsageError("decode_detections: expected (1, h, w) centres, (2, h, w) sizes and (C + 1, h, w) class logits");
  }
  const std::int64_t h = centre_logits.size(1), w = centre_logits.size(2);
  const torch::Tensor p = centre_logits.to(torch::kFloat).sigmoid();
  const std::int64_t k = settings.peak_window;
  const torch::Tensor pooled = at::max_pool2d(p.unsqueeze(0), {k, k}, {1, 1}, {k / 2, k / 2})[0];
  const torch::Tensor peaks = ((p == pooled) & (p > settings.peak_threshold))[0].nonzero();  // (N, 2) row, col
  const std::int64_t n = peaks.size(0);
  if (n == 0) return torch::zeros({0, 6}, torch::kDouble);
  const torch::Tensor r = peaks.select(1, 0), c = peaks.select(1, 1);
  const torch::Tensor score = p[0].index({r, c}).to(torch::kDouble);
  const torch::Tensor size = sizes.to(torch::kDouble).index({torch::indexing::Slice(), r, c});  // (2, N)
  // The centre of output pixel (r, c) in normalised image coordinates; the official col / N
  // reads its corner, half an output pixel up and to the left.
  const torch::Tensor cx = (c.to(torch::kDouble) + 0.5) / static_cast<double>(w);
  const torch::Tensor cy = (r.to(torch::kDouble) + 0.5) / static_cast<double>(h);
  const torch::Tensor boxes =
      torch::stack({(cx - size[0] / 2).clamp(0, 1) * cols, (cy - size[1] / 2).clamp(0, 1) * rows,
                    (cx + size[0] / 2).clamp(0, 1) * cols, (cy + size[1] / 2).clamp(0, 1) * rows},
                   1);
  const torch::Tensor probabilities =
      class_logits.to(torch::kDouble).index({torch::indexing::Slice(), r, c}).softmax(0).t().contiguous();  // (N, C + 1)
  std::vector<std::int64_t> keep = nms(boxes, score, settings.nms_iou);
  if (static_cast<std::int64_t>(keep.size()) > settings.max_boxes) keep.resize(static_cast<std::size_t>(settings.max_boxes));
  std::vector<double> rows_out;
  const std::int64_t classes = probabilities.size(1) - 1;
  const double* prob = probabilities.data_ptr<double>();
  const torch::Tensor b = boxes.contiguous();
  const double* box = b.data_ptr<double>();
  const torch::Tensor sc = score.contiguous();
  const double* s = sc.data_ptr<double>();
  for (const std::int64_t i : keep) {
    for (std::int64_t j = 1; j <= classes; ++j) {
      const double q = prob[i * (classes + 1) + j];
      if (!(q > settings.class_threshold)) continue;
      rows_out.insert(rows_out.end(), {box[4 * i], box[4 * i + 1], box[4 * i + 2], box[4 * i + 3], s[i] * q,
                                       static_cast<double>(j - 1)});
    }
  }
  const std::int64_t count = static_cast<std::int64_t>(rows_out.size() / 6);
  torch::Tensor out = torch::from_blob(rows_out.data(), {count, 6}, torch::kDouble).clone();
  if (count > 1) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(count));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::int64_t a, std::int64_t z) { return rows_out[6 * a + 4] > rows_out[6 * z + 4]; });
    out = out.index_select(0, torch::tensor(order, torch::kLong));
  }
  return out;
}

}  // namespace lidere::tasks::detection
