// The command-line options that several commands share, each defined once with its one default and
// help (llama.cpp's common/arg.cpp): a command names the ones it takes. Also the flags tasks declare
// for their options (tasks/options.h): every registered task's flags for a command are added to
// it, and after parsing the given ones become options of the task the command runs.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/progress.h"
#include "inference/defaults.h"
#include "tasks/options.h"

namespace lidere::inference {

enum class Shared { kTask, kDevice, kBackbone, kBatch, kWorkers, kThreads, kOut, kSet, kQuiet, kJson };

struct SharedOptions {
  std::string task;  // empty: the checkpoint's, or the default task
  std::string device = kDefaultDevice;
  std::string backbone;  // empty: the checkpoint's (eval, predict) or the default (train)
  std::int64_t batch = kDefaultBatch;
  std::int64_t workers = kDefaultWorkers;
  int threads = 0;  // 0: one per core
  std::string out;
  std::vector<std::string> sets;
  bool quiet = false, json = false;

  // Whether the option was on the command line (train applies only those over its configuration).
  bool given(Shared option) const;
  // --quiet, else automatic (a bar on a terminal, plain lines otherwise).
  ProgressMode progress() const { return quiet ? ProgressMode::kQuiet : ProgressMode::kAuto; }

  std::map<Shared, CLI::Option*> added;
};

// Adds the named shared options to `command`, bound to `options` (which must outlive parsing).
// `what` describes --set and --out for this command (e.g. "Output folder (default runs/<task>/predictN)").
void add_shared_options(CLI::App& command, SharedOptions& options, std::initializer_list<Shared> which,
                        const std::map<Shared, std::string>& what = {});

// The values of task flags given on a command line, by flag.
struct TaskFlags {
  std::map<std::string, std::string> values;  // "--tile" -> "300"; switches -> ""
  std::map<std::string, CLI::Option*> added;
};

// Adds every flag that a registered task declares for `command` (tasks::CommandMask); a flag that
// several tasks declare is added once, its help naming them.
void add_task_flags(CLI::App& app, TaskFlags& flags, tasks::CommandMask command);

// The options of task `task` from the flags given and from `sets` ("task.KEY=VALUE", or
// "KEY=VALUE" for a key of the task; other keys are left for the caller and returned in
// `unclaimed` when it is not null, an error otherwise). Throws UsageError for a flag the task does
// not declare (naming the tasks that do) or a value of the wrong type.
nlohmann::json task_options_from_command_line(const TaskFlags& flags, const std::vector<std::string>& sets,
                                              const std::string& task, std::vector<std::string>* unclaimed = nullptr);

}  // namespace lidere::inference
