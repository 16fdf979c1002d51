// Subcommands of the lidere binary. Each add_<verb>() registers its subcommand and options on the
// parent app and returns the function that runs it once the command line has parsed. To add a
// command: write cmd_<verb>.cpp with its add_<verb>(), declare it here, and list it in
// kCommands in main.cpp.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace lidere::cli {

// Runs a parsed subcommand; returns the process exit code (see core/errors.h ExitCode).
using CommandAction = std::function<int()>;

CommandAction add_check_golden(CLI::App& app);
CommandAction add_info(CLI::App& app);
CommandAction add_inspect(CLI::App& app);
CommandAction add_bench(CLI::App& app);
// bench's subcommands train (and pack, OpenCV builds) in cmd_bench_train.cpp.
CommandAction add_bench_train(CLI::App& bench);
#if defined(LIDERE_WITH_OPENCV)
// Commands that read images (built with OpenCV only).
CommandAction add_train(CLI::App& app);
CommandAction add_eval(CLI::App& app);
CommandAction add_predict(CLI::App& app);
CommandAction add_sample_data(CLI::App& app);
CommandAction add_bench_pack(CLI::App& bench);
#endif

}  // namespace lidere::cli
