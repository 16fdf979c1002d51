// The lidere command line: the subcommands, wired in one place (kCommands), and the one error
// boundary.
#include "apps/lidere/cli.h"

#include <malloc.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "apps/lidere/commands.h"
#include "core/errors.h"
#include "core/version.h"

namespace lidere::cli {
namespace {

struct Registered {
  CLI::App* subcommand;
  CommandAction run;
};

// Training allocates and frees tensors of tens of MB every step (the reference prior and its
// gradient). glibc serves those with mmap/munmap by default, so every step page-faults them in
// afresh; on 2 CPU cores that kernel time was 40% of a training run. Keeping them in the heap
// (and not trimming it) makes a CPU training step ~1.7x faster (docs/performance.md).
void keep_large_allocations_in_heap() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 256 << 20);
}

// Parses the command line and runs the subcommand; parse errors are answered here, everything else
// reaches the error boundary in run().
int parse_and_run(int argc, char** argv) {
  CLI::App app{"lidere: train light dense-prediction readouts on frozen vision backbones", "lidere"};
  app.set_version_flag("--version", std::string(kVersionString));
  // At most one subcommand; "none" is reported after parsing, so that an unknown option or
  // command gets the parser's own message ("not expected: --frobnicate") rather than this one.
  app.require_subcommand(0, 1);
  app.fallthrough(false);

  using AddFn = CommandAction (*)(CLI::App&);
  const std::vector<AddFn> kCommands = {
#if defined(LIDERE_WITH_OPENCV)
    &add_train,
    &add_eval,
    &add_predict,
    &add_sample_data,
#endif
    &add_check_golden,
    &add_info,
    &add_inspect,
    &add_bench
  };
  std::vector<Registered> commands;
  for (AddFn add : kCommands) {
    const std::size_t before = app.get_subcommands({}).size();
    CommandAction action = add(app);
    commands.push_back({app.get_subcommands({})[before], std::move(action)});
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the parser's message and a hint to --help
    return static_cast<int>(ExitCode::kUsage);
  }
  for (auto& command : commands) {
    if (command.subcommand->parsed()) return command.run();
  }
  fmt::print(stderr, "A subcommand is required.\n{}", app.help());
  return static_cast<int>(ExitCode::kUsage);
}

}  // namespace

int run(int argc, char** argv) {
  keep_large_allocations_in_heap();
  try {
    return parse_and_run(argc, argv);
  } catch (const Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return static_cast<int>(e.code());
  } catch (const c10::Error& e) {
    fmt::print(stderr, "internal error (LibTorch): {}\n", e.what_without_backtrace());
    return static_cast<int>(ExitCode::kInternal);
  } catch (const std::exception& e) {
    fmt::print(stderr, "internal error: {}\n", e.what());
    return static_cast<int>(ExitCode::kInternal);
  }
}

}  // namespace lidere::cli
