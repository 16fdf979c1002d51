#include "apps/lidere/reports.h"

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

}  // namespace lidere::cli
