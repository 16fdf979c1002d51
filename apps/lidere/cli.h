// The lidere command line as a function, so that a build can register tasks of its own
// (tasks::add_task) before running it: the lidere binary's main() is only this call, and the test
// build's lidere-with-toy-task binary registers its toy task first.
#pragma once

namespace lidere::cli {

// Parses the subcommand and runs it inside the one error boundary, which maps each error kind to
// a stable exit code (core/errors.h). Returns the process exit code.
int run(int argc, char** argv);

}  // namespace lidere::cli
