// Typed errors for the whole project. Libraries throw these and never print or exit;
// apps/lidere/main.cpp is the one error boundary that maps each kind to an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace lidere {

// Stable process exit codes (documented in docs/cli.md); scripts may rely on them.
enum class ExitCode : int {
  kOk = 0,
  kCheckFailed = 1,   // the command ran but its check did not pass (e.g. golden mismatch)
  kUsage = 2,         // bad command line
  kInputError = 3,    // a file the user gave is missing, unreadable or malformed
  kInternal = 70,     // a bug: an invariant of ours did not hold
};

// Base class: carries the exit code that main() reports.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

// A user-supplied file (or value inside it) is wrong; the message names the file and the problem.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(ExitCode::kInputError, message) {}
};

// A command-line value is wrong in a way the parser could not see (e.g. inconsistent options).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(ExitCode::kUsage, message) {}
};

}  // namespace lidere
