// The test binary's main: Catch2's session plus skips that CTest sees. A test that cannot run here
// (no GPU; outside CI, a missing data set or reference tool) calls LIDERE_SKIP; when every test case
// of the run skipped, the process exits with kSkipExitCode, which CTest (SKIP_RETURN_CODE) reports
// as "Skipped", never as passed. CTest runs one test case per process (tests/CMakeLists.txt), so
// each skip shows by name; a manual run of many cases lists its skips at the end.
#define CATCH_CONFIG_RUNNER
#include "test_common.h"

#include <cstdio>

namespace {

std::size_t g_cases_started = 0;

struct CaseCounter : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(const Catch::TestCaseInfo&) override { ++g_cases_started; }
};

}  // namespace

CATCH_REGISTER_LISTENER(CaseCounter)

int main(int argc, char** argv) {
  const int failed = Catch::Session().run(argc, argv);
  const auto& skipped = lidere::testing::skipped_cases();
  for (const auto& [name, reason] : skipped) std::printf("SKIPPED %s: %s\n", name.c_str(), reason.c_str());
  if (failed == 0 && !skipped.empty() && skipped.size() == g_cases_started) return lidere::testing::kSkipExitCode;
  return failed;
}
