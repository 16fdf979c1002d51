// Task options: each task's table defines every option once (default, type, help, flag, earlier
// names); descriptions are validated by it; checkpoints carry the model's options into eval and
// predict while run settings start afresh; and the command line maps flags and --set onto them.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "inference/options.h"
#include "tasks/boundary/boundary_task.h"
#include "tasks/registry.h"
#include "test_common.h"

using namespace lidere;
using Catch::Matchers::Contains;
using lidere::testing::thrown_message;

CATCH_TEST_CASE("task options: defaults, aliases, types and unknown keys", "[unit]") {
  const auto& table = tasks::boundary_options();
  const nlohmann::json all = tasks::resolve_options(table, nlohmann::json::object(), "boundary");
  CATCH_CHECK(all.at("thresholds") == 99);
  CATCH_CHECK(all.at("tile") == 200);
  // Old run folders wrote val_thresholds: the alias lands on thresholds.
  CATCH_CHECK(tasks::resolve_options(table, {{"val_thresholds", 9}}, "boundary").at("thresholds") == 9);
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { tasks::resolve_options(table, {{"tiles", 3}}, "boundary"); }),
                   Contains("task 'boundary' has no option 'tiles'") && Contains("tile"));
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { tasks::resolve_options(table, {{"tile", "big"}}, "boundary"); }),
                   Contains("option tile must be an integer"));
  // An integer is also a number.
  CATCH_CHECK(tasks::resolve_options(table, {{"max_dist", 1}}, "boundary").at("max_dist") == 1);
  // Every option of every task has a help text, and flags are spelled as flags.
  for (const auto& entry : tasks::task_entries()) {
    for (const auto& option : entry.options()) {
      CATCH_INFO(entry.name << "." << option.key);
      CATCH_CHECK_FALSE(option.help.empty());
      CATCH_CHECK((option.flag.empty() || option.flag.rfind("--", 0) == 0));
      CATCH_CHECK((!option.switch_flag || option.default_value.is_boolean()));
    }
  }
}

CATCH_TEST_CASE("task options: a checkpoint carries the model's options, runs start afresh", "[unit]") {
  // As a boundary checkpoint trained with val_thresholds 9 and a custom NMS tolerance records them.
  const nlohmann::json stored = tasks::make_task({{"task", "boundary"},
                                                  {"class_names", {"boundary"}},
                                                  {"thresholds", 9},
                                                  {"nms_tolerance", 0.1},
                                                  {"balanced", true},
                                                  {"target_side", 481}})
                                    ->describe();
  const nlohmann::json run = tasks::description_for_run(stored, nlohmann::json::object());
  CATCH_CHECK(run.at("nms_tolerance") == 0.1);  // carried: part of the model's post-processing
  CATCH_CHECK(run.at("balanced") == true);
  CATCH_CHECK(run.at("thresholds") == 99);  // a setting of each evaluation
  CATCH_CHECK(run.at("target_side") == 481);  // data-derived fields stay
  CATCH_CHECK(tasks::description_for_run(stored, {{"nms_tolerance", -1.0}}).at("nms_tolerance") == -1.0);
  CATCH_CHECK(tasks::description_for_run(stored, {{"val_thresholds", 5}}).at("thresholds") == 5);
  // A description from before options existed (no tile, no thin) still makes the task.
  const auto legacy = tasks::make_task({{"task", "boundary"}, {"class_names", {"boundary"}}, {"balanced", false},
                                        {"thresholds", 99}, {"max_dist", 0.0075}, {"nms_tolerance", 0.07}});
  CATCH_CHECK(legacy->tiling().size == 200);
  CATCH_CHECK(legacy->tiling().overlap == 40);
}

CATCH_TEST_CASE("task flags: declared by tasks, routed to the task a command runs", "[unit]") {
  CLI::App app;
  inference::TaskFlags flags;
  inference::add_task_flags(app, flags, tasks::kEvalCommand);
  CATCH_REQUIRE(flags.added.count("--tile"));
  CATCH_REQUIRE(flags.added.count("--no-thin"));
  CATCH_REQUIRE(flags.added.count("--ignore-index"));
  CATCH_CHECK_FALSE(flags.added.count("--bits"));  // predict only
  const char* argv[] = {"eval", "--tile", "0", "--no-thin"};
  app.parse(4, const_cast<char**>(argv));
  const nlohmann::json o = inference::task_options_from_command_line(flags, {"task.max_dist=0.01", "overlap=3"},
                                                                     "boundary");
  CATCH_CHECK(o.at("tile") == 0);
  CATCH_CHECK(o.at("thin") == false);
  CATCH_CHECK(o.at("max_dist") == 0.01);
  CATCH_CHECK(o.at("overlap") == 3);
  // A flag of another task is refused, naming the task that takes it.
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { inference::task_options_from_command_line(flags, {}, "seg"); }),
                   Contains("is an option of task boundary, not of 'seg'"));
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] {
                     inference::task_options_from_command_line({}, {"task.tile=wide"}, "boundary");
                   }),
                   Contains("--set task.tile: expected an integer, got 'wide'"));
  std::vector<std::string> unclaimed;
  inference::task_options_from_command_line({}, {"lr=0.1", "tile=3"}, "boundary", &unclaimed);
  CATCH_CHECK(unclaimed == std::vector<std::string>{"lr=0.1"});
}

CATCH_TEST_CASE("task registry: the table, its default, added tasks", "[unit]") {
  CATCH_CHECK(tasks::default_task() == tasks::task_entries().front().name);
  CATCH_CHECK_THAT(thrown_message<UsageError>([] { tasks::task_entry("depth"); }),
                   Contains("unknown task 'depth'") && Contains("seg") && Contains("boundary"));
  CATCH_CHECK_THROWS_AS(tasks::add_task(tasks::task_entries().front()), UsageError);  // a name twice
  for (const auto& entry : tasks::task_entries()) {
    // A task's description makes the same task back.
    const nlohmann::json options = tasks::resolve_options(entry.options(), nlohmann::json::object(), entry.name);
    const auto task = tasks::make_task(tasks::task_description(entry.name, options, {{"class_names", {"a", "b"}}}));
    CATCH_CHECK(task->name() == entry.name);
    CATCH_CHECK(tasks::make_task(task->describe())->describe() == task->describe());
    CATCH_CHECK_NOTHROW(task->heads().validate());
  }
}
