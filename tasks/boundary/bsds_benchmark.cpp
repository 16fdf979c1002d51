#include "tasks/boundary/bsds_benchmark.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>

#include "core/errors.h"

namespace lidere::tasks::boundary {

std::int64_t BinaryMap::count() const {
  std::int64_t n = 0;
  for (const auto v : data) n += v != 0;
  return n;
}

// ---- segmentation boundaries -------------------------------------------------------------------

BinaryMap segmentation_boundaries(const std::vector<std::int64_t>& seg, int rows, int cols) {
  const auto label = [&](int r, int c) { return seg[static_cast<std::size_t>(r) * cols + c]; };
  // The original's edgels: h(i, j) = seg(i, j) != seg(i, j+1), v(i, j) = seg(i, j) != seg(i+1, j),
  // zero past the last column / row.
  const auto h = [&](int r, int c) -> std::uint8_t { return c + 1 < cols && label(r, c) != label(r, c + 1); };
  const auto v = [&](int r, int c) -> std::uint8_t { return r + 1 < rows && label(r, c) != label(r + 1, c); };
  BinaryMap out(rows, cols);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      std::uint8_t value = 0;
      if (r + 1 < rows && c + 1 < cols) {
        value = h(r, c) | h(r + 1, c) | v(r, c) | v(r, c + 1);  // the 'doubleSize' corner
      } else if (r + 1 == rows && c + 1 < cols) {
        value = h(r, c);  // copied from the row above the border
      } else if (r + 1 < rows && c + 1 == cols) {
        value = v(r, c);  // copied from the column left of the border
      }
      out.at(r, c) = value;
    }
  }
  return out;
}

// ---- thinning ----------------------------------------------------------------------------------

BinaryMap thin(BinaryMap map) {
  // The map with a border of zeros (pixels outside the map count as 0), so that the neighbours of
  // a pixel are fixed offsets: x1..x8 counter-clockwise from the east (x3 = north = the row
  // above), x9 = x1.
  const int width = map.cols + 2;
  std::vector<std::uint8_t> padded(static_cast<std::size_t>(map.rows + 2) * width, 0);
  // Only set pixels can be removed: each subiteration visits the list of them (boundary maps are
  // sparse, so this is a small fraction of the image) instead of scanning every pixel.
  std::vector<int> on;
  for (int r = 0; r < map.rows; ++r) {
    for (int c = 0; c < map.cols; ++c) {
      if (!map.at(r, c)) continue;
      const int index = (r + 1) * width + c + 1;
      padded[static_cast<std::size_t>(index)] = 1;
      on.push_back(index);
    }
  }
  const int offsets[10] = {0, 1, 1 - width, -width, -width - 1, -1, width - 1, width, width + 1, 1};
  std::vector<int> removed;
  for (bool changed = true; changed;) {
    changed = false;
    for (int pass = 0; pass < 2; ++pass) {
      removed.clear();
      for (const int index : on) {
        int x[10];
        for (int i = 0; i < 10; ++i) x[i] = padded[static_cast<std::size_t>(index + offsets[i])];
        int crossings = 0, n1 = 0, n2 = 0;  // G1's X_H, G2's n1 and n2
        for (int i = 1; i <= 4; ++i) {
          crossings += !x[2 * i - 1] && (x[2 * i] || x[2 * i + 1]);
          n1 += x[2 * i - 1] | x[2 * i];
          n2 += x[2 * i] | x[2 * i + 1];
        }
        if (crossings != 1) continue;
        const int smaller = std::min(n1, n2);
        if (smaller < 2 || smaller > 3) continue;
        const bool g3 = pass == 0 ? ((x[2] | x[3] | !x[8]) & x[1]) == 0 : ((x[6] | x[7] | !x[4]) & x[5]) == 0;
        if (g3) removed.push_back(index);
      }
      if (removed.empty()) continue;
      for (const int index : removed) padded[static_cast<std::size_t>(index)] = 0;  // decided on the old map
      on.erase(std::remove_if(on.begin(), on.end(), [&](int i) { return !padded[static_cast<std::size_t>(i)]; }),
               on.end());
      changed = true;
    }
  }
  for (int r = 0; r < map.rows; ++r) {
    for (int c = 0; c < map.cols; ++c) map.at(r, c) = padded[static_cast<std::size_t>((r + 1) * width + c + 1)];
  }
  return map;
}

// ---- correspondPixels --------------------------------------------------------------------------

namespace {

// Minimum-cost assignment of rows to columns on a sparse graph where every row also has a private
// "unmatched" column of cost 0 and a real edge costs (distance - outlier cost) < 0: the optimum
// is the original's CSA solution (matched pairs cost their distance, every unmatched pixel the
// outlier cost). Rows are added one at a time, each by a shortest augmenting path found with
// Dijkstra on reduced costs (the Hungarian method with potentials); the search stops at the first
// free column, so it explores only the alternating tree around the new row.
class Assignment {
 public:
  Assignment(int rows, int real_columns) : rows_(rows), real_(real_columns), start_(rows + 1, 0) {}

  // Edges must be added row by row, in row order.
  void add_edge(int row, int column, std::int64_t cost) {
    columns_.push_back(column);
    costs_.push_back(cost);
    ++start_[row + 1];
  }

  void solve() {
    const int columns = real_ + rows_;
    // Each row's private unmatched column comes last in its edge list; start_ counted the real
    // edges, turn the counts into offsets and append the private edges.
    std::vector<int> cols;
    std::vector<std::int64_t> costs;
    std::vector<int> start(rows_ + 1, 0);
    {
      std::size_t e = 0;
      for (int r = 0; r < rows_; ++r) {
        start[r] = static_cast<int>(cols.size());
        for (int k = 0; k < start_[r + 1]; ++k, ++e) {
          cols.push_back(columns_[e]);
          costs.push_back(costs_[e]);
        }
        cols.push_back(real_ + r);
        costs.push_back(0);
      }
      start[rows_] = static_cast<int>(cols.size());
    }
    std::int64_t lowest = 0;
    for (const auto c : costs) lowest = std::min(lowest, c);
    // Equal potentials for every column: free columns then compare by distance alone.
    std::vector<std::int64_t> row_pot(rows_, 0), col_pot(columns, lowest);
    match_row_.assign(columns, -1);
    match_col_.assign(rows_, -1);
    constexpr std::int64_t kInf = std::numeric_limits<std::int64_t>::max() / 4;
    std::vector<std::int64_t> dist(columns, kInf);
    std::vector<int> prev(columns, -1);
    std::vector<char> done(columns, 0);
    std::vector<int> touched, finalized;
    // A min-heap on a vector that keeps its capacity from row to row.
    using Item = std::pair<std::int64_t, int>;
    std::vector<Item> heap;
    const auto push = [&](std::int64_t d, int c) {
      heap.emplace_back(d, c);
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    };
    const auto pop = [&] {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>());
      const Item top = heap.back();
      heap.pop_back();
      return top;
    };

    for (int source = 0; source < rows_; ++source) {
      const auto relax = [&](int row, std::int64_t base) {
        for (int e = start[row]; e < start[row + 1]; ++e) {
          const int c = cols[e];
          if (done[c]) continue;
          const std::int64_t d = base + costs[e] - row_pot[row] - col_pot[c];
          if (d < dist[c]) {
            if (dist[c] == kInf) touched.push_back(c);
            dist[c] = d;
            prev[c] = row;
            push(d, c);
          }
        }
      };
      // Most rows reach a free column directly along their cheapest edge: when the cheapest
      // reduced cost from the source leads to a free column, that edge is the shortest path
      // (reduced costs are >= 0), so it is taken without the heap.
      int terminal = -1;
      std::int64_t reach = 0;
      {
        int best = -1;
        std::int64_t best_d = kInf;
        for (int e = start[source]; e < start[source + 1]; ++e) {
          const std::int64_t d = costs[e] - row_pot[source] - col_pot[cols[e]];
          if (d < best_d) {
            best_d = d;
            best = cols[e];
          }
        }
        if (best >= 0 && match_row_[best] < 0) {
          terminal = best;
          reach = best_d;
          prev[best] = source;
          touched.push_back(best);
          dist[best] = best_d;
        }
      }
      if (terminal < 0) relax(source, 0);
      while (terminal < 0 && !heap.empty()) {
        const auto [d, c] = pop();
        if (done[c] || d > dist[c]) continue;
        done[c] = 1;
        finalized.push_back(c);
        if (match_row_[c] < 0) {
          terminal = c;
          reach = d;
          break;
        }
        relax(match_row_[c], d);  // through the matched edge, whose reduced cost is 0
      }
      // Potentials: every reduced cost stays >= 0 and the new path's edges become tight.
      row_pot[source] += reach;
      for (const int c : finalized) {
        if (c == terminal) continue;
        col_pot[c] += dist[c] - reach;
        row_pot[match_row_[c]] += reach - dist[c];
      }
      // Augment along the path.
      for (int c = terminal;;) {
        const int row = prev[c];
        const int next = match_col_[row];
        match_col_[row] = c;
        match_row_[c] = row;
        if (row == source) break;
        c = next;
      }
      for (const int c : touched) {
        dist[c] = kInf;
        done[c] = 0;
      }
      touched.clear();
      finalized.clear();
      heap.clear();
    }
  }

  // The real column matched to a row, or -1.
  int column_of(int row) const { return match_col_[row] < real_ ? match_col_[row] : -1; }

 private:
  int rows_, real_;
  std::vector<int> start_;  // during add_edge: start_[r + 1] = real edges of row r
  std::vector<int> columns_;
  std::vector<std::int64_t> costs_;
  std::vector<int> match_row_, match_col_;
};

// A map's pixels as x * rows + y, sorted: column-major, the order the original numbers its nodes.
std::vector<std::int64_t> column_major_pixels(const BinaryMap& m) {
  std::vector<std::int64_t> keys;
  for (int y = 0; y < m.rows; ++y) {
    for (int x = 0; x < m.cols; ++x) {
      if (m.at(y, x)) keys.push_back(static_cast<std::int64_t>(x) * m.rows + y);
    }
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

// correspond_pixels with both maps' pixel lists given (the benchmark matches one thresholded map
// against every annotator, and every annotator at every threshold: each list is built once).
Correspondence correspond(const BinaryMap& a, const std::vector<std::int64_t>& pixels_a, const BinaryMap& b,
                          const std::vector<std::int64_t>& pixels_b, double max_dist) {
  if (a.rows != b.rows || a.cols != b.cols) {
    throw InputError("correspond_pixels: the two maps have different sizes");
  }
  const int height = a.rows, width = a.cols;
  const double diagonal = std::sqrt(static_cast<double>(height) * height + static_cast<double>(width) * width);
  const double radius = max_dist * diagonal;
  const int r = static_cast<int>(std::ceil(radius));
  constexpr int kMultiplier = 100;        // the original's integer cost scale
  constexpr double kOutlierFactor = 100;  // outlier cost = 100 x the maximum distance
  const auto outlier = static_cast<std::int64_t>(std::ceil(kOutlierFactor * radius * kMultiplier));

  // Offsets within the radius, in the original's order (u = dx outer, v = dy inner).
  struct Offset {
    int dx, dy;
    std::int64_t cost;
  };
  std::vector<Offset> offsets;
  for (int u = -r; u <= r; ++u) {
    for (int v = -r; v <= r; ++v) {
      const double d2 = u * u + v * v;
      if (d2 > radius * radius) continue;
      offsets.push_back({u, v, static_cast<std::int64_t>(std::rint(std::sqrt(d2) * kMultiplier))});
    }
  }

  // Pixel -> index into pixels_b, through a per-thread grid that is reset after use (the maps are
  // sparse: clearing a whole image per call would cost more than the matching).
  thread_local std::vector<int> grid;
  if (grid.size() < static_cast<std::size_t>(height) * width) grid.assign(static_cast<std::size_t>(height) * width, -1);
  for (std::size_t j = 0; j < pixels_b.size(); ++j) {
    const auto x = static_cast<int>(pixels_b[j] / height), y = static_cast<int>(pixels_b[j] % height);
    grid[static_cast<std::size_t>(y) * width + x] = static_cast<int>(j);
  }
  // Edges between a pixel and every b pixel within the radius; only pixels with an edge become
  // nodes ("matchable" in the original).
  struct Edge {
    int i, j;
    std::int64_t cost;
  };
  std::vector<Edge> edges;
  std::vector<int> column_of_b(pixels_b.size(), -1);
  std::vector<int> row_pixel;  // node -> index into pixels_a
  for (std::size_t i = 0; i < pixels_a.size(); ++i) {
    const auto x = static_cast<int>(pixels_a[i] / height), y = static_cast<int>(pixels_a[i] % height);
    const std::size_t first = edges.size();
    for (const auto& o : offsets) {
      const int x2 = x + o.dx, y2 = y + o.dy;
      if (x2 < 0 || x2 >= width || y2 < 0 || y2 >= height) continue;
      const int j = grid[static_cast<std::size_t>(y2) * width + x2];
      if (j >= 0) edges.push_back({static_cast<int>(row_pixel.size()), j, o.cost - outlier});
    }
    if (edges.size() > first) row_pixel.push_back(static_cast<int>(i));
  }
  for (const auto key : pixels_b) {
    const auto x = static_cast<int>(key / height), y = static_cast<int>(key % height);
    grid[static_cast<std::size_t>(y) * width + x] = -1;
  }
  // Columns: the b pixels with an edge, numbered in their column-major order.
  for (const auto& e : edges) column_of_b[e.j] = 0;
  std::vector<int> column_pixel;
  for (std::size_t j = 0; j < pixels_b.size(); ++j) {
    if (column_of_b[j] == 0) {
      column_of_b[j] = static_cast<int>(column_pixel.size());
      column_pixel.push_back(static_cast<int>(j));
    }
  }

  Assignment assignment(static_cast<int>(row_pixel.size()), static_cast<int>(column_pixel.size()));
  for (const auto& e : edges) assignment.add_edge(e.i, column_of_b[e.j], e.cost);
  assignment.solve();

  Correspondence result;
  result.matched_a.assign(a.data.size(), 0);
  result.matched_b.assign(b.data.size(), 0);
  const auto mark = [&](std::vector<std::uint8_t>& m, std::int64_t key) {
    m[static_cast<std::size_t>(key % height) * width + static_cast<std::size_t>(key / height)] = 1;
  };
  for (int n = 0; n < static_cast<int>(row_pixel.size()); ++n) {
    const int column = assignment.column_of(n);
    if (column < 0) continue;
    mark(result.matched_a, pixels_a[row_pixel[n]]);
    mark(result.matched_b, pixels_b[column_pixel[column]]);
    ++result.matches;
  }
  return result;
}

}  // namespace

Correspondence correspond_pixels(const BinaryMap& a, const BinaryMap& b, double max_dist) {
  return correspond(a, column_major_pixels(a), b, column_major_pixels(b), max_dist);
}

// ---- per image ---------------------------------------------------------------------------------

std::vector<double> default_thresholds(int n) {
  std::vector<double> t(n);
  const double first = 1.0 / (n + 1), last = 1.0 - 1.0 / (n + 1);
  // MATLAB linspace: d1 + (0:n-2) * (d2 - d1) / (n - 1), then exactly d2.
  for (int i = 0; i < n; ++i) t[i] = n == 1 ? last : (i == n - 1 ? last : first + i * (last - first) / (n - 1));
  return t;
}

namespace {

// An annotator's map with its pixel list, built once per image.
struct Annotation {
  const BinaryMap* map;
  std::vector<std::int64_t> pixels;
};
std::vector<Annotation> annotations_of(const std::vector<BinaryMap>& truth) {
  std::vector<Annotation> out;
  for (const auto& gt : truth) out.push_back({&gt, column_major_pixels(gt)});
  return out;
}

void count_threshold(const BinaryMap& map, const std::vector<Annotation>& truth, double max_dist, ImageCounts& out) {
  const std::vector<std::int64_t> pixels = column_major_pixels(map);
  std::vector<std::uint8_t> matched_any(map.data.size(), 0);
  std::int64_t cnt_r = 0, sum_r = 0;
  for (const auto& gt : truth) {
    const Correspondence c = correspond(map, pixels, *gt.map, gt.pixels, max_dist);
    for (std::size_t i = 0; i < matched_any.size(); ++i) matched_any[i] |= c.matched_a[i];
    sum_r += static_cast<std::int64_t>(gt.pixels.size());
    cnt_r += c.matches;  // each matched ground-truth pixel once
  }
  std::int64_t cnt_p = 0;
  for (const auto v : matched_any) cnt_p += v;
  out.cnt_r.push_back(cnt_r);
  out.sum_r.push_back(sum_r);
  out.cnt_p.push_back(cnt_p);
  out.sum_p.push_back(static_cast<std::int64_t>(pixels.size()));
}

}  // namespace

ImageCounts evaluate_image(const std::vector<double>& pb, int rows, int cols, const std::vector<BinaryMap>& truth,
                           const std::vector<double>& thresholds, double max_dist, bool thin_maps) {
  ImageCounts out;
  out.thresholds = thresholds;
  const std::vector<Annotation> annotations = annotations_of(truth);
  BinaryMap previous;
  for (const double t : thresholds) {
    BinaryMap map(rows, cols);
    for (std::size_t i = 0; i < pb.size(); ++i) map.data[i] = pb[i] >= t;
    if (!out.cnt_r.empty() && map.data == previous.data) {
      // No level of pb lies between this threshold and the last (quantised maps, 8-bit PNGs): the
      // same map, so the same counts, without matching it again.
      out.cnt_r.push_back(out.cnt_r.back());
      out.sum_r.push_back(out.sum_r.back());
      out.cnt_p.push_back(out.cnt_p.back());
      out.sum_p.push_back(out.sum_p.back());
      continue;
    }
    previous = map;
    count_threshold(thin_maps ? thin(std::move(map)) : map, annotations, max_dist, out);
  }
  return out;
}

ImageCounts evaluate_image_maps(const std::vector<BinaryMap>& maps, const std::vector<BinaryMap>& truth,
                                double max_dist, bool thin_maps) {
  ImageCounts out;
  const std::vector<Annotation> annotations = annotations_of(truth);
  for (std::size_t i = 0; i < maps.size(); ++i) {
    out.thresholds.push_back(static_cast<double>(i + 1));
    count_threshold(thin_maps ? thin(maps[i]) : maps[i], annotations, max_dist, out);
  }
  return out;
}

// ---- collecting --------------------------------------------------------------------------------

namespace {

double fmeasure(double r, double p) { return 2 * p * r / (p + r + ((p + r) == 0 ? 1 : 0)); }
double ratio(std::int64_t count, std::int64_t sum) {
  return static_cast<double>(count) / static_cast<double>(sum + (sum == 0 ? 1 : 0));
}

}  // namespace

PrPoint best_f(const std::vector<double>& thresholds, const std::vector<double>& recall,
               const std::vector<double>& precision) {
  PrPoint best{thresholds[0], recall[0], precision[0], fmeasure(recall[0], precision[0])};
  for (std::size_t i = 1; i < thresholds.size(); ++i) {
    for (int k = 0; k < 100; ++k) {  // MATLAB linspace(0, 1): 100 points
      const double d = k / 99.0;
      const double t = thresholds[i] * d + thresholds[i - 1] * (1 - d);
      const double r = recall[i] * d + recall[i - 1] * (1 - d);
      const double p = precision[i] * d + precision[i - 1] * (1 - d);
      const double f = fmeasure(r, p);
      if (f > best.f) best = {t, r, p, f};
    }
  }
  return best;
}

double average_precision(const std::vector<double>& recall, const std::vector<double>& precision) {
  // MATLAB's [Ru, i] = unique(R): sorted distinct recalls, each with the precision at its last
  // occurrence.
  std::vector<std::pair<double, double>> points;
  for (std::size_t i = 0; i < recall.size(); ++i) points.emplace_back(recall[i], precision[i]);
  std::stable_sort(points.begin(), points.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::pair<double, double>> unique;
  for (const auto& p : points) {
    if (!unique.empty() && unique.back().first == p.first) {
      unique.back() = p;
    } else {
      unique.push_back(p);
    }
  }
  if (unique.size() <= 1) return 0.0;
  double area = 0;
  for (int k = 0; k <= 100; ++k) {
    const double r = k * 0.01;
    if (r < unique.front().first || r > unique.back().first) continue;  // NaN in interp1 -> 0
    auto hi = std::lower_bound(unique.begin(), unique.end(), r, [](const auto& p, double v) { return p.first < v; });
    if (hi->first == r) {
      area += hi->second;
      continue;
    }
    const auto lo = hi - 1;
    area += lo->second + (hi->second - lo->second) * (r - lo->first) / (hi->first - lo->first);
  }
  return area * 0.01;
}

BenchmarkSummary collect(const std::vector<ImageCounts>& images) {
  if (images.empty()) throw InputError("the boundary benchmark has no images to collect");
  const std::vector<double>& thresholds = images.front().thresholds;
  const std::size_t n = thresholds.size();
  std::vector<std::int64_t> cnt_r(n, 0), sum_r(n, 0), cnt_p(n, 0), sum_p(n, 0);
  std::int64_t cnt_r_best = 0, sum_r_best = 0, cnt_p_best = 0, sum_p_best = 0;
  BenchmarkSummary summary;
  for (const auto& image : images) {
    if (image.thresholds.size() != n) throw InputError("the images were evaluated at different thresholds");
    std::vector<double> r(n), p(n), f(n);
    for (std::size_t t = 0; t < n; ++t) {
      r[t] = ratio(image.cnt_r[t], image.sum_r[t]);
      p[t] = ratio(image.cnt_p[t], image.sum_p[t]);
      f[t] = fmeasure(r[t], p[t]);
      cnt_r[t] += image.cnt_r[t];
      sum_r[t] += image.sum_r[t];
      cnt_p[t] += image.cnt_p[t];
      sum_p[t] += image.sum_p[t];
    }
    summary.per_image.push_back(best_f(thresholds, r, p));
    const std::size_t at = static_cast<std::size_t>(std::max_element(f.begin(), f.end()) - f.begin());  // first max
    cnt_r_best += image.cnt_r[at];
    sum_r_best += image.sum_r[at];
    cnt_p_best += image.cnt_p[at];
    sum_p_best += image.sum_p[at];
  }
  std::vector<double> r(n), p(n);
  for (std::size_t t = 0; t < n; ++t) {
    r[t] = ratio(cnt_r[t], sum_r[t]);
    p[t] = ratio(cnt_p[t], sum_p[t]);
    summary.per_threshold.push_back({thresholds[t], r[t], p[t], fmeasure(r[t], p[t])});
  }
  summary.ods = best_f(thresholds, r, p);
  const double r_best = ratio(cnt_r_best, sum_r_best), p_best = ratio(cnt_p_best, sum_p_best);
  summary.ois = {0, r_best, p_best, fmeasure(r_best, p_best)};
  summary.ap = average_precision(r, p);
  return summary;
}

void write_eval_files(const BenchmarkSummary& s, const std::string& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const auto open = [&](const std::string& name) {
    const fs::path path = fs::path(dir) / name;
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw InputError(path.string() + ": cannot write");
    return f;
  };
  std::FILE* f = open("eval_bdry.txt");
  std::fprintf(f, "%10g %10g %10g %10g %10g %10g %10g %10g\n", s.ods.threshold, s.ods.recall, s.ods.precision, s.ods.f,
               s.ois.recall, s.ois.precision, s.ois.f, s.ap);
  std::fclose(f);
  f = open("eval_bdry_thr.txt");
  for (const auto& p : s.per_threshold)
    std::fprintf(f, "%10g %10g %10g %10g\n", p.threshold, p.recall, p.precision, p.f);
  std::fclose(f);
  f = open("eval_bdry_img.txt");
  for (std::size_t i = 0; i < s.per_image.size(); ++i) {
    const auto& p = s.per_image[i];
    std::fprintf(f, "%10d %10g %10g %10g %10g\n", static_cast<int>(i + 1), p.threshold, p.recall, p.precision, p.f);
  }
  std::fclose(f);
}

}  // namespace lidere::tasks::boundary
