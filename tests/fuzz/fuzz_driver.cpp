// Our fuzz driver: deterministic random inputs and mutations of the target's seeds (flipped,
// replaced, inserted and deleted bytes, truncations, spliced seeds, digits changed), fed to the
// target's fuzz_one. Usage: fuzz_<target> [cases] [seed files or folders...]. An input that
// escapes the target as anything but a clean return is saved as fuzz-failure-<n>.bin in the
// working folder and makes the run fail; a crash fails it by itself (with LIDERE_FUZZ_KEEP_LAST set,
// every input is first written to fuzz-last-input.bin, so a crash leaves its input there). Prints
// "N passed, M failed".
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

#include <unistd.h>

#include "fuzz/fuzz_target.h"

namespace lidere::fuzz {

const std::filesystem::path& scratch_dir() {
  struct Owner {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("lidere_fuzz_" + std::to_string(::getpid()));
    Owner() { std::filesystem::create_directories(path); }
    ~Owner() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Owner owner;
  return owner.path;
}

std::string write_scratch(const std::uint8_t* data, std::size_t size, const std::string& extension) {
  const std::string path = (scratch_dir() / ("input" + extension)).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

void expect_names(const std::string& message, const std::string& path) {
  if (message.find(path) == std::string::npos) {
    throw std::logic_error("an InputError that does not name the input: " + message);
  }
}

}  // namespace lidere::fuzz

namespace {

using lidere::fuzz::Bytes;

Bytes mutate(const std::vector<Bytes>& seeds, std::mt19937& rng) {
  Bytes bytes = seeds[rng() % seeds.size()];
  const int edits = 1 + static_cast<int>(rng() % 6);
  for (int e = 0; e < edits; ++e) {
    if (bytes.empty()) bytes.push_back(static_cast<std::uint8_t>(rng()));
    const std::size_t pos = rng() % bytes.size();
    switch (rng() % 7) {
      case 0: bytes[pos] = static_cast<std::uint8_t>(rng()); break;
      case 1: bytes[pos] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
      case 2: bytes.resize(pos); break;
      case 3: bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<std::uint8_t>(rng())); break;
      case 4: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(pos)); break;
      case 5: {  // splice in a piece of another seed
        const Bytes& other = seeds[rng() % seeds.size()];
        if (other.empty()) break;
        const std::size_t from = rng() % other.size(), n = std::min<std::size_t>(1 + rng() % 64, other.size() - from);
        bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(pos), other.begin() + static_cast<std::ptrdiff_t>(from),
                     other.begin() + static_cast<std::ptrdiff_t>(from + n));
        break;
      }
      default:
        if (bytes[pos] >= '0' && bytes[pos] <= '9') bytes[pos] = static_cast<std::uint8_t>('0' + rng() % 10);
    }
  }
  return bytes;
}

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

int main(int argc, char** argv) {
  const int cases = argc > 1 ? std::atoi(argv[1]) : 2000;
  std::vector<Bytes> seeds = lidere::fuzz::fuzz_seeds();
  for (int i = 2; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (!std::filesystem::exists(p)) {
      // Seeds from the shared data: only CI must have them (it fails), elsewhere the run skips.
      const char* ci = std::getenv("CI");
      std::printf("%s: seed %s is missing\n", ci && std::string(ci) == "true" ? "FAIL" : "SKIPPED", argv[i]);
      return ci && std::string(ci) == "true" ? 1 : 77;
    }
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) seeds.push_back(read_file(e.path()));
    } else {
      seeds.push_back(read_file(p));
    }
  }
  if (seeds.empty()) seeds.push_back({});
  std::mt19937 rng(1234);
  int failures = 0;
  const bool keep_last = std::getenv("LIDERE_FUZZ_KEEP_LAST") != nullptr;
  const auto run = [&](const Bytes& input, int n) {
    if (keep_last) {  // a crash leaves the input that caused it behind
      std::ofstream("fuzz-last-input.bin", std::ios::binary | std::ios::trunc)
          .write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
    }
    try {
      lidere::fuzz::fuzz_one(input.data(), input.size());
    } catch (const std::exception& e) {
      ++failures;
      const std::string name = "fuzz-failure-" + std::to_string(n) + ".bin";
      std::ofstream(name, std::ios::binary).write(reinterpret_cast<const char*>(input.data()),
                                                  static_cast<std::streamsize>(input.size()));
      std::fprintf(stderr, "case %d (saved as %s): %s\n", n, name.c_str(), e.what());
    }
  };
  for (std::size_t s = 0; s < seeds.size(); ++s) run(seeds[s], -1 - static_cast<int>(s));  // seeds parse cleanly
  for (int n = 0; n < cases; ++n) {
    if (n % 5 == 0) {  // random bytes
      Bytes bytes(rng() % 512);
      for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
      run(bytes, n);
    } else {
      run(mutate(seeds, rng), n);
    }
  }
  std::printf("%d passed, %d failed\n", cases + static_cast<int>(seeds.size()) - failures, failures);
  return failures == 0 ? 0 : 1;
}
