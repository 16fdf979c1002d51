#include "inference/options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "backbones/registry.h"
#include "core/errors.h"
#include "tasks/registry.h"

namespace lidere::inference {
namespace {

std::string default_help(Shared option) {
  switch (option) {
    case Shared::kTask:
      return fmt::format("Task: {} (default {})", fmt::join(tasks::task_names(), ", "), tasks::default_task());
    case Shared::kDevice: return fmt::format("cpu (default), cuda or cuda:N");
    case Shared::kBackbone: return backbones::kBackboneHelp;
    case Shared::kBatch:
      return fmt::format("Images per forward pass; tiles where the task tiles images (default {})", kDefaultBatch);
    case Shared::kWorkers: return fmt::format("Batches decoded ahead on worker threads (default {})", kDefaultWorkers);
    case Shared::kThreads: return "Images scored at once (default: one per core)";
    case Shared::kOut: return "Output folder";
    case Shared::kSet: return "A task option: --set task.KEY=VALUE (repeatable; docs/cli.md lists each task's)";
    case Shared::kQuiet: return "No progress output";
    case Shared::kJson: return "Print a JSON summary on stdout";
  }
  return "";
}

}  // namespace

bool SharedOptions::given(Shared option) const {
  const auto it = added.find(option);
  return it != added.end() && it->second->count() > 0;
}

void add_shared_options(CLI::App& command, SharedOptions& o, std::initializer_list<Shared> which,
                        const std::map<Shared, std::string>& what) {
  for (const Shared option : which) {
    const auto custom = what.find(option);
    const std::string help = custom != what.end() ? custom->second : default_help(option);
    CLI::Option* added = nullptr;
    switch (option) {
      case Shared::kTask: added = command.add_option("--task", o.task, help); break;
      case Shared::kDevice: added = command.add_option("--device", o.device, help); break;
      case Shared::kBackbone: added = command.add_option("--backbone", o.backbone, help); break;
      case Shared::kBatch: added = command.add_option("--batch", o.batch, help); break;
      case Shared::kWorkers: added = command.add_option("--workers", o.workers, help); break;
      case Shared::kThreads: added = command.add_option("--threads", o.threads, help); break;
      case Shared::kOut: added = command.add_option("--out", o.out, help); break;
      case Shared::kSet: added = command.add_option("--set", o.sets, help); break;
      case Shared::kQuiet: added = command.add_flag("--quiet,-q", o.quiet, help); break;
      case Shared::kJson: added = command.add_flag("--json", o.json, help); break;
    }
    o.added[option] = added;
  }
}

void add_task_flags(CLI::App& app, TaskFlags& flags, tasks::CommandMask command) {
  struct Declared {
    const tasks::OptionSpec* option;
    std::vector<std::string> tasks;
  };
  std::map<std::string, Declared> declared;
  std::vector<std::string> order;
  for (const auto& entry : tasks::task_entries()) {
    for (const auto& option : entry.options()) {
      if (option.flag.empty() || !(option.commands & command)) continue;
      auto [it, fresh] = declared.try_emplace(option.flag, Declared{&option, {}});
      if (!fresh && it->second.option->switch_flag != option.switch_flag) {
        throw Error(ExitCode::kInternal, fmt::format("tasks declare {} both as a switch and with a value", option.flag));
      }
      if (fresh) order.push_back(option.flag);
      it->second.tasks.push_back(entry.name);
    }
  }
  for (const auto& flag : order) {
    const Declared& d = declared.at(flag);
    const std::string help = fmt::format("{}: {} (default {})", fmt::join(d.tasks, ", "), d.option->help,
                                         d.option->switch_flag ? std::string("off") : d.option->default_value.dump());
    std::string& value = flags.values[flag];
    flags.added[flag] = d.option->switch_flag ? app.add_flag(flag, help) : app.add_option(flag, value, help);
  }
}

nlohmann::json task_options_from_command_line(const TaskFlags& flags, const std::vector<std::string>& sets,
                                              const std::string& task, std::vector<std::string>* unclaimed) {
  const tasks::OptionTable& table = tasks::task_entry(task).options();
  nlohmann::json options = nlohmann::json::object();
  for (const auto& [flag, added] : flags.added) {
    if (added->count() == 0) continue;
    const tasks::OptionSpec* option = nullptr;
    for (const auto& o : table) {
      if (o.flag == flag) option = &o;
    }
    if (!option) {
      std::vector<std::string> takers;
      for (const auto& entry : tasks::task_entries()) {
        for (const auto& o : entry.options())
          if (o.flag == flag) takers.emplace_back(entry.name);
      }
      throw UsageError(fmt::format("{} is an option of task {}, not of '{}'", flag, fmt::join(takers, ", "), task));
    }
    options[option->key] = option->switch_flag ? nlohmann::json(!option->default_value.get<bool>())
                                               : tasks::parse_option_value(*option, flags.values.at(flag), flag);
  }
  for (const auto& assignment : sets) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos) throw UsageError(fmt::format("--set '{}': expected key=value", assignment));
    std::string key = assignment.substr(0, eq);
    const bool qualified = key.rfind("task.", 0) == 0;
    if (qualified) key = key.substr(5);
    const tasks::OptionSpec* option = tasks::find_option(table, key);
    if (!option) {
      if (!qualified && unclaimed) {
        unclaimed->push_back(assignment);
        continue;
      }
      std::vector<std::string> keys;
      for (const auto& o : table) keys.push_back(o.key);
      throw UsageError(fmt::format("--set {}: task '{}' has no option '{}' (its options: {})", assignment.substr(0, eq),
                                   task, key, keys.empty() ? std::string("none") : fmt::format("{}", fmt::join(keys, ", "))));
    }
    options[option->key] = tasks::parse_option_value(*option, assignment.substr(eq + 1), "--set " + assignment.substr(0, eq));
  }
  return options;
}

}  // namespace lidere::inference
