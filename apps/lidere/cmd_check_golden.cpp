// lidere check-golden FILE...: reproduce golden files of the official implementation.
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/lidere/commands.h"
#include "core/errors.h"
#include "readout/golden.h"

namespace lidere::cli {
namespace {

struct CheckGoldenOptions {
  std::vector<std::string> files;
  bool json = false;
  bool quiet = false;
};

void print_report(const readout::GoldenReport& report, bool quiet) {
  fmt::print("{}  ({} {}, {:.1f} s)\n", report.file, report.model, report.dtype, report.seconds);
  if (!quiet) {
    fmt::print("  {:<48} {:>10} {:>10}  {}\n", "tensor", "error", "tolerance", "");
    for (const auto& c : report.checks) {
      fmt::print("  {:<48} {:>10.2e} {:>10.1e}  {}{}\n", c.name, c.error, c.tolerance, c.passed() ? "ok" : "FAIL",
                 c.kind == "zero" ? " (exact zero: |ours| / largest gradient)" : "");
    }
  }
  const auto* worst = report.worst();
  fmt::print("  {}: {} tensors, worst {} at {:.2e} (tolerance {:.1e})\n", report.passed() ? "PASS" : "FAIL",
             report.checks.size(), worst ? worst->name : "-", worst ? worst->error : 0.0,
             worst ? worst->tolerance : 0.0);
}

int run(const CheckGoldenOptions& options) {
  bool all_passed = true;
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& file : options.files) {
    const readout::GoldenReport report = readout::check_golden_file(file);
    all_passed = all_passed && report.passed();
    if (options.json) {
      nlohmann::json tensors = nlohmann::json::object();
      for (const auto& c : report.checks) {
        tensors[c.name] = {{"error", c.error}, {"tolerance", c.tolerance}, {"kind", c.kind}, {"passed", c.passed()}};
      }
      summary.push_back({{"file", report.file},
                         {"model", report.model},
                         {"dtype", report.dtype},
                         {"passed", report.passed()},
                         {"seconds", report.seconds},
                         {"tensors", tensors}});
    } else {
      print_report(report, options.quiet);
    }
  }
  if (options.json) fmt::print("{}\n", summary.dump(2));
  return static_cast<int>(all_passed ? ExitCode::kOk : ExitCode::kCheckFailed);
}

}  // namespace

CommandAction add_check_golden(CLI::App& app) {
  auto options = std::make_shared<CheckGoldenOptions>();
  CLI::App* cmd =
      app.add_subcommand("check-golden",
                         "Reproduce golden files of the official implementation (format lidere-golden-v1): load the "
                         "weights, run forward and backward on the stored input and loss, and compare the output, "
                         "prior, attention and every gradient. Exits 1 if any tensor is above tolerance.");
  cmd->add_option("files", options->files, "Golden .safetensors files")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", options->json, "Print a JSON summary instead of tables");
  cmd->add_flag("-q,--quiet", options->quiet, "Print one summary line per file");
  return [options] { return run(*options); };
}

}  // namespace lidere::cli
