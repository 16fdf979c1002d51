#include "train/run_dir.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"

namespace lidere::train {
namespace fs = std::filesystem;

RunDir::RunDir(fs::path path) : path_(std::move(path)) { fs::create_directories(path_ / "weights"); }

RunDir RunDir::create(const fs::path& project, const std::string& task, const std::string& name, bool exist_ok) {
  if (name.empty() || name.find('/') != std::string::npos)
    throw UsageError("run name '" + name + "' must be a plain folder name");
  const fs::path parent = project / task;
  fs::create_directories(parent);
  if (exist_ok) return RunDir(parent / name);
  for (int n = 1;; ++n) {
    const fs::path candidate = parent / (n == 1 ? name : fmt::format("{}{}", name, n));
    // create_directory is atomic: two runs started at once never share a folder.
    if (fs::create_directory(candidate)) return RunDir(candidate);
  }
}

RunDir RunDir::open(const fs::path& path) {
  if (!fs::is_directory(path) || !fs::exists(path / "config.json")) {
    throw InputError(fmt::format("{}: not a run folder (no config.json)", path.string()));
  }
  return RunDir(path);
}

void RunDir::log(const std::string& line) const {
  std::ofstream out(path_ / "log.txt", std::ios::app);
  out << line << '\n';
}

MetricsCsv::MetricsCsv(fs::path path, std::vector<std::string> columns, std::int64_t keep_until_step)
    : path_(std::move(path)), columns_(columns.size()) {
  std::vector<std::string> kept;
  if (keep_until_step >= 0 && fs::exists(path_)) {
    std::ifstream in(path_);
    std::string line;
    std::getline(in, line);  // header: rewritten below
    while (std::getline(in, line)) {
      const std::int64_t step = std::stoll(line.substr(0, line.find(',')));
      if (step <= keep_until_step) kept.push_back(line);
    }
  }
  std::ofstream out(path_, std::ios::trunc);
  out << fmt::format("{}\n", fmt::join(columns, ","));
  for (const auto& line : kept) out << line << '\n';
  if (!out) throw InputError(fmt::format("{}: cannot write", path_.string()));
}

void MetricsCsv::append(const std::vector<double>& values) {
  if (values.size() != columns_) throw std::logic_error("metrics row has the wrong number of values");
  std::ofstream out(path_, std::ios::app);
  std::vector<std::string> cells;
  for (double v : values) cells.push_back(fmt::format("{:.6g}", v));
  out << fmt::format("{}\n", fmt::join(cells, ","));
}

std::vector<double> MetricsTable::column(const std::string& name) const {
  std::vector<double> out;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (columns[c] != name) continue;
    for (const auto& row : rows) out.push_back(c < row.size() ? row[c] : 0.0);
  }
  return out;
}

MetricsTable read_metrics_csv(const fs::path& path) {
  MetricsTable table;
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot read", path.string()));
  std::string line;
  const auto split = [](const std::string& text) {
    std::vector<std::string> cells;
    std::stringstream stream(text);
    for (std::string cell; std::getline(stream, cell, ',');) cells.push_back(cell);
    return cells;
  };
  if (std::getline(in, line)) table.columns = split(line);
  while (std::getline(in, line)) {
    std::vector<double> row;
    for (const auto& cell : split(line)) row.push_back(std::stod(cell));
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace lidere::train
