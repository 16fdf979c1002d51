// The lidere binary: the command line of apps/lidere/cli.cpp with the tasks of tasks/registry.cpp.
#include "apps/lidere/cli.h"

int main(int argc, char** argv) { return lidere::cli::run(argc, argv); }
