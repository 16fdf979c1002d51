// Shared by every test file: Catch2 with prefixed macros (c10 defines its own CHECK), and
// helpers to find the shared data and make scratch files.
#pragma once

#define CATCH_CONFIG_PREFIX_ALL
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <torch/types.h>

namespace lidere::testing {

// The exit code CTest reads as "skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt).
inline constexpr int kSkipExitCode = 77;

// Test cases that skipped, with the reason (test_main.cpp reports them).
inline std::vector<std::pair<std::string, std::string>>& skipped_cases() {
  static std::vector<std::pair<std::string, std::string>> cases;
  return cases;
}

inline void record_skip(const std::string& reason) {
  skipped_cases().emplace_back(Catch::getResultCapture().getCurrentTestName(), reason);
  CATCH_WARN("skipped: " << reason);
}

// Whether this run is CI's (CI=true), where nothing but a missing GPU may skip.
inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// ../shared beside the checkout (LIDERE_SHARED_DIR, else the folder CMake found); empty when absent.
inline std::filesystem::path shared_dir() {
  const char* env = std::getenv("LIDERE_SHARED_DIR");
#ifdef LIDERE_DEFAULT_SHARED_DIR
  std::filesystem::path dir = env ? env : LIDERE_DEFAULT_SHARED_DIR;
#else
  std::filesystem::path dir = env ? env : "../shared";
#endif
  return std::filesystem::is_directory(dir) ? dir : std::filesystem::path();
}

// This test process's temporary folder, removed when the process exits.
inline const std::filesystem::path& process_temp_dir() {
  struct Owner {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("lidere_tests_" + std::to_string(::getpid()));
    ~Owner() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Owner owner;
  return owner.path;
}

// A folder of files that `make` writes once per build folder, version of `source` (a script whose
// content keys the cache) and `versions` (of the tools it runs), shared by the test processes: written to a private folder first,
// then renamed into place, so that concurrent processes never see a half-written one.
template <typename Make>
std::filesystem::path cached_output(const std::string& name, const std::filesystem::path& source,
                                    const std::string& versions, Make&& make) {
  std::ifstream in(source, std::ios::binary);
  const std::string text = std::string((std::istreambuf_iterator<char>(in)), {}) + versions;
#ifdef LIDERE_TEST_CACHE_DIR
  const std::filesystem::path cache = LIDERE_TEST_CACHE_DIR;
#else
  const std::filesystem::path cache = std::filesystem::temp_directory_path() / "lidere_test_cache";
#endif
  const std::filesystem::path dir = cache / (name + "-" + std::to_string(std::hash<std::string>{}(text)));
  if (std::filesystem::exists(dir / ".complete")) return dir;
  const std::filesystem::path mine = cache / (name + ".partial." + std::to_string(::getpid()));
  std::filesystem::remove_all(mine);
  std::filesystem::create_directories(mine);
  make(mine);
  std::ofstream(mine / ".complete") << "done\n";
  std::error_code error;
  std::filesystem::rename(mine, dir, error);  // fails when another process got there first
  if (error) std::filesystem::remove_all(mine);
  return dir;
}

// A fresh, empty scratch folder.
inline std::filesystem::path scratch_dir(const std::string& name) {
  const auto dir = process_temp_dir() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The venv's python (LIDERE_PYTHON, else the one CMake found) for tests that need reference tools.
inline std::string python() {
  const char* env = std::getenv("LIDERE_PYTHON");
#ifdef LIDERE_DEFAULT_PYTHON
  return env ? env : LIDERE_DEFAULT_PYTHON;
#else
  return env ? env : "python3";
#endif
}

// The message of the exception of type E that f() throws, or "<no exception>" (which no
// Contains() matcher in these tests accepts). Catch2 v2 has no substring matcher for exceptions.
template <typename E, typename F>
std::string thrown_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no exception>";
}

// max|ours - reference| / max(1, max|reference|): the parity measure of the backbone tests.
inline double relative_error(const torch::Tensor& ours, const torch::Tensor& reference) {
  return (ours - reference).abs().max().item<double>() / std::max(1.0, reference.abs().max().item<double>());
}

}  // namespace lidere::testing

// Skips the current test case (returns from it): for what no machine setting can supply here, such
// as a GPU.
#define LIDERE_SKIP(reason)                    \
  do {                                         \
    ::lidere::testing::record_skip(reason);    \
    return;                                    \
  } while (false)

// Requires a data set or reference tool: where `available` is false the test fails under CI=true
// (CI must have everything but a GPU) and skips elsewhere.
#define LIDERE_REQUIRE_AVAILABLE(available, what)                                                   \
  do {                                                                                             \
    if (!(available)) {                                                                            \
      if (::lidere::testing::in_ci()) CATCH_FAIL("CI=true, but " << (what) << " is missing");     \
      LIDERE_SKIP(std::string(what) + " is missing (run scripts/bootstrap.sh; ../shared beside the checkout)"); \
    }                                                                                              \
  } while (false)
