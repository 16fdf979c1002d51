#include "tasks/options.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"

namespace lidere::tasks {
namespace {

// Whether a value may stand for an option of the default's type (an integer is also a number).
bool fits(const nlohmann::json& value, const nlohmann::json& default_value) {
  if (default_value.is_number_integer()) return value.is_number_integer();
  if (default_value.is_number()) return value.is_number();
  return value.type() == default_value.type();
}

}  // namespace

std::string option_type(const OptionSpec& option) {
  const auto& d = option.default_value;
  if (d.is_number_integer()) return "integer";
  if (d.is_number()) return "number";
  return d.type_name();
}

namespace {

// "an integer", "a number", ...
std::string a_type(const OptionSpec& option) {
  const std::string type = option_type(option);
  return (type == "integer" ? "an " : "a ") + type;
}

}  // namespace

const OptionSpec* find_option(const OptionTable& table, const std::string& key) {
  for (const auto& option : table) {
    if (option.key == key || std::find(option.aliases.begin(), option.aliases.end(), key) != option.aliases.end()) {
      return &option;
    }
  }
  return nullptr;
}

nlohmann::json resolve_options(const OptionTable& table, const nlohmann::json& given, const std::string& task,
                               const std::vector<std::string>& ignored) {
  nlohmann::json resolved = nlohmann::json::object();
  for (const auto& option : table) resolved[option.key] = option.default_value;
  if (given.is_null()) return resolved;
  if (!given.is_object()) throw UsageError(fmt::format("task '{}': options must be a JSON object", task));
  for (const auto& [key, value] : given.items()) {
    if (key == "task" || std::find(ignored.begin(), ignored.end(), key) != ignored.end()) continue;
    const OptionSpec* option = find_option(table, key);
    if (!option) {
      std::vector<std::string> keys;
      for (const auto& o : table) keys.push_back(o.key);
      throw UsageError(fmt::format("task '{}' has no option '{}' (its options: {})", task, key,
                                   keys.empty() ? std::string("none") : fmt::format("{}", fmt::join(keys, ", "))));
    }
    if (!fits(value, option->default_value)) {
      throw UsageError(
          fmt::format("task '{}': option {} must be {} (got {})", task, option->key, a_type(*option), value.dump()));
    }
    resolved[option->key] = value;
  }
  return resolved;
}

nlohmann::json options_for_run(const OptionTable& table, const nlohmann::json& stored, const nlohmann::json& overrides,
                               const std::string& task) {
  nlohmann::json given = nlohmann::json::object();
  for (const auto& option : table) {
    if (option.carried && stored.contains(option.key)) given[option.key] = stored.at(option.key);
  }
  if (overrides.is_object()) {
    for (const auto& [key, value] : overrides.items()) {
      const OptionSpec* option = find_option(table, key);
      given[option ? option->key : key] = value;  // an alias replaces the stored value too
    }
  }
  return resolve_options(table, given, task);
}

nlohmann::json parse_option_value(const OptionSpec& option, const std::string& text, const std::string& origin) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || option.default_value.is_string()) value = text;
  if (!fits(value, option.default_value)) {
    throw UsageError(fmt::format("{}: expected {}, got '{}'", origin, a_type(option), text));
  }
  return value;
}

}  // namespace lidere::tasks
