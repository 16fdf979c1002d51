// Golden parity: every file in ../shared/golden (format lidere-golden-v1) is reproduced within the
// tolerances its README gives (float64 1e-9; float32 per tensor).
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "readout/golden.h"
#include "test_common.h"

CATCH_TEST_CASE("the readout reproduces every official golden file", "[golden]") {
  const auto shared = lidere::testing::shared_dir();
  const auto golden_dir = shared / "golden";
  LIDERE_REQUIRE_AVAILABLE(!shared.empty() && std::filesystem::is_directory(golden_dir),
                           "the golden folder (../shared/golden, or LIDERE_SHARED_DIR)");
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(golden_dir)) {
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  CATCH_REQUIRE(!files.empty());
  for (const auto& file : files) {
    CATCH_SECTION(file.filename().string()) {
      const auto report = lidere::readout::check_golden_file(file.string());
      for (const auto& c : report.checks) {
        CATCH_INFO(fmt::format("{}: error {:.2e} tolerance {:.1e}", c.name, c.error, c.tolerance));
        CATCH_CHECK(c.passed());
      }
      // Output, prior, attention and at least the 20 trainable tensors' gradients were compared.
      CATCH_REQUIRE(report.checks.size() >= 23);
      const auto* worst = report.worst();
      CATCH_REQUIRE(worst != nullptr);
      fmt::print("{}: worst {} {:.2e} (tolerance {:.1e}), {:.1f} s\n", file.filename().string(), worst->name,
                 worst->error, worst->tolerance, report.seconds);
    }
  }
}
