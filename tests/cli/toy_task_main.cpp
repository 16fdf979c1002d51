// lidere with one more task, registered by the test build only: the real command line
// (apps/lidere/cli.h) and the built-in tasks, plus tests/cli/toy_task.
#include "apps/lidere/cli.h"
#include "tasks/registry.h"
#include "tests/cli/toy_task/toy_task.h"

int main(int argc, char** argv) {
  lidere::tasks::add_task({"toy", "brightness of every pixel (a test-only task)", &lidere::toy::make_toy_task,
                           &lidere::toy::toy_options, &lidere::toy::make_toy_io, nullptr});
  return lidere::cli::run(argc, argv);
}
