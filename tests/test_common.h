// Shared by every test file: Catch2 with prefixed macros (c10 defines its own CHECK), and
// helpers to find the shared data and make scratch files.
#pragma once

#define CATCH_CONFIG_PREFIX_ALL
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include <torch/types.h>

namespace lidere::testing {

// ../shared beside the checkout (LIDERE_SHARED_DIR, set by CTest); empty when absent.
inline std::filesystem::path shared_dir() {
  const char* env = std::getenv("LIDERE_SHARED_DIR");
  std::filesystem::path dir = env ? env : "../shared";
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

// A fresh, empty scratch folder.
inline std::filesystem::path scratch_dir(const std::string& name) {
  const auto dir = process_temp_dir() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The venv's python (LIDERE_PYTHON, set by CTest) for tests that need reference tools.
inline std::string python() {
  const char* env = std::getenv("LIDERE_PYTHON");
  return env ? env : "python3";
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
