// The fuzz harness shared by every parser (tests/fuzz/fuzz_driver.cpp). A target is one file that
// defines
//   fuzz_seeds()  valid inputs for the driver to mutate (the command line can add seed files), and
//   fuzz_one()    feeds one input to the parser: it must return (the input was parsed, or refused
//                 with an InputError, which the target catches and checks names the input) and must
//                 never crash, read out of bounds (AddressSanitizer builds: scripts/asan.sh) or
//                 throw anything else.
// Adding a parser's fuzzer: a fuzz_<parser>.cpp here and one line in tests/CMakeLists.txt
// (lidere_fuzz_target). The signature matches libFuzzer's LLVMFuzzerTestOneInput, so a target
// also links against clang's -fsanitize=fuzzer in place of our driver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lidere::fuzz {

using Bytes = std::vector<std::uint8_t>;

std::vector<Bytes> fuzz_seeds();
void fuzz_one(const std::uint8_t* data, std::size_t size);

// For parsers that read files: the bytes written to a scratch file of this process (named with
// `extension`), and its path.
std::string write_scratch(const std::uint8_t* data, std::size_t size, const std::string& extension);
// A scratch folder of this process, created on first use.
const std::filesystem::path& scratch_dir();
// Fails (throws) unless an InputError's message names the input file, as lidere's errors do.
void expect_names(const std::string& message, const std::string& path);

}  // namespace lidere::fuzz
