#include "apps/lidere/reports.h"

#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/plot.h"

namespace lidere::cli {

void draw_training_curves(const train::RunDir& run) {
  const train::MetricsTable table = train::read_metrics_csv(run.file("metrics.csv"));
  const std::vector<double> steps = table.column("step");
  std::vector<Curve> curves;
  for (const auto& column : table.columns) {
    if (column == "train_loss" || column.rfind("val_", 0) == 0) curves.push_back({column, steps, table.column(column)});
  }
  plot_curves(curves, "iteration", run.file("results.png").string());
}

void write_evaluation_report(const tasks::Metrics& metrics, const nlohmann::json& details,
                             const std::filesystem::path& dir, const std::string& split) {
  {
    std::ofstream out(dir / fmt::format("eval_{}.json", split));
    out << nlohmann::json{{"split", split}, {"metrics", metrics.to_json()}, {"details", details}}.dump(2) << '\n';
  }
  if (details.contains("per_threshold")) {  // boundary benchmark
    PrCurve curve{
        fmt::format("ODS {:.3f}  OIS {:.3f}  AP {:.3f}", metrics.at("ODS"), metrics.at("OIS"), metrics.at("AP")),
        {},
        {},
        details.at("ods").at("recall").get<double>(),
        details.at("ods").at("precision").get<double>()};
    for (const auto& p : details.at("per_threshold")) {
      curve.recall.push_back(p.at("recall").get<double>());
      curve.precision.push_back(p.at("precision").get<double>());
    }
    plot_precision_recall({curve}, (dir / fmt::format("pr_curve_{}.png", split)).string());
  }
  if (!details.contains("confusion")) return;
  const auto names = details.at("class_names").get<std::vector<std::string>>();
  const auto rows = details.at("confusion").get<std::vector<std::vector<std::int64_t>>>();
  std::ofstream csv(dir / fmt::format("confusion_{}.csv", split));
  csv << fmt::format("truth\\prediction,{}\n", fmt::join(names, ","));
  std::vector<std::int64_t> flat;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    csv << fmt::format("{},{}\n", names[r], fmt::join(rows[r], ","));
    flat.insert(flat.end(), rows[r].begin(), rows[r].end());
  }
  const auto n = static_cast<std::int64_t>(rows.size());
  plot_confusion(torch::tensor(flat, torch::kLong).reshape({n, n}), names,
                 (dir / fmt::format("confusion_{}.png", split)).string());
}

}  // namespace lidere::cli
