// A task's options: one table per task, each option with its one default, its type (that of the
// default), its help, its earlier names and, where it has one, the command-line flag that sets it
// and the commands that take that flag. Users set options with --set task.KEY=VALUE (or --set
// KEY=VALUE when KEY is no general setting) or with the flag; the task's table validates them.
// Checkpoints record the resolved options (Task::describe), so eval and predict start from the
// values a model was trained with and flags override them.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lidere::tasks {

// The commands whose command line can carry a task's flag.
enum CommandMask : unsigned { kTrainCommand = 1u, kEvalCommand = 2u, kPredictCommand = 4u };

struct OptionSpec {
  std::string key;
  nlohmann::json default_value;  // its JSON type is the option's type (boolean, integer, number, string)
  std::string help;
  std::string flag;                  // e.g. "--tile"; empty: set only with --set task.KEY=VALUE
  unsigned commands = 0;             // CommandMask bits of the commands that take the flag
  std::vector<std::string> aliases;  // names the option had before (old run folders, scripts)
  // For boolean options only: a flag that takes no value and sets the opposite of the default
  // (e.g. --no-thin -> false).
  bool switch_flag = false;
  // Part of the model: eval and predict take the value a checkpoint was trained with (flags
  // override it). Other options are settings of each run and start from their default.
  bool carried = false;

  OptionSpec(std::string key_, nlohmann::json default_, std::string help_)
      : key(std::move(key_)), default_value(std::move(default_)), help(std::move(help_)) {}
  // The declarations of a table read as sentences: option(...).on_command_line("--tile", kEval).
  OptionSpec on_command_line(std::string flag_, unsigned commands_) && {
    flag = std::move(flag_), commands = commands_;
    return std::move(*this);
  }
  OptionSpec switch_on_command_line(std::string flag_, unsigned commands_) && {
    flag = std::move(flag_), commands = commands_, switch_flag = true;
    return std::move(*this);
  }
  OptionSpec formerly(std::string alias) && {
    aliases.push_back(std::move(alias));
    return std::move(*this);
  }
  OptionSpec carried_by_checkpoints() && {
    carried = true;
    return std::move(*this);
  }
};
using OptionTable = std::vector<OptionSpec>;

// The option `key` names (its key or an alias), or null.
const OptionSpec* find_option(const OptionTable& table, const std::string& key);

// Every option of the table, from `given` (a JSON object, keys or aliases) with the defaults for
// the rest. Throws UsageError naming the task and the key for an unknown option (listing the known
// ones) or a value of the wrong type; `ignored` keys of `given` are skipped (data-derived fields of
// a task description).
nlohmann::json resolve_options(const OptionTable& table, const nlohmann::json& given, const std::string& task,
                               const std::vector<std::string>& ignored = {});

// The options a command runs a trained model with: the checkpoint's values of carried options
// (from its task description), defaults for the rest, then `overrides` (validated as above).
nlohmann::json options_for_run(const OptionTable& table, const nlohmann::json& stored, const nlohmann::json& overrides,
                               const std::string& task);

// A value from the command line for an option: JSON where it parses (numbers, booleans), else the
// text; a UsageError naming `origin` (e.g. "--tile") when it does not have the option's type.
nlohmann::json parse_option_value(const OptionSpec& option, const std::string& text, const std::string& origin);

// The option's type in words ("integer", "number", "boolean", "string").
std::string option_type(const OptionSpec& option);

}  // namespace lidere::tasks
