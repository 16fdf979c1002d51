// A run folder, as Ultralytics users know it: runs/<task>/<name>, <name>2, <name>3, ... holding
//   config.json        the resolved configuration the run was started (or last resumed) with
//   metrics.csv        one row per validation: step, epoch, lr, train loss, the task's metrics
//   log.txt            everything the run printed
//   weights/last.safetensors, weights/best.safetensors
//   curves and other pictures (drawn by the command that owns the run)
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lidere::train {

class RunDir {
 public:
  // A new numbered folder <project>/<task>/<name>[N] (the first free of name, name2, name3, ...);
  // with `exist_ok`, <project>/<task>/<name> itself, created if needed.
  static RunDir create(const std::filesystem::path& project, const std::string& task, const std::string& name,
                       bool exist_ok = false);
  // An existing run folder (for --resume); throws InputError when it is not one.
  static RunDir open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(const std::string& name) const { return path_ / name; }
  std::filesystem::path weights(const std::string& which) const { return path_ / "weights" / (which + ".safetensors"); }
  // Appends one line to log.txt.
  void log(const std::string& line) const;

 private:
  explicit RunDir(std::filesystem::path path);
  std::filesystem::path path_;
};

// metrics.csv: a header and one row per call to append(). Opening an existing file for a resumed
// run keeps only the rows up to and including `keep_until_step` (rows a killed run wrote after its
// last checkpoint are dropped, so the file reads as if the run had never stopped).
class MetricsCsv {
 public:
  MetricsCsv(std::filesystem::path path, std::vector<std::string> columns, std::int64_t keep_until_step = -1);
  void append(const std::vector<double>& values);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::size_t columns_;
};

// Reads a metrics.csv back: the header and the rows (for plots and summaries).
struct MetricsTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;
  std::vector<double> column(const std::string& name) const;  // empty when absent
};
MetricsTable read_metrics_csv(const std::filesystem::path& path);

}  // namespace lidere::train
