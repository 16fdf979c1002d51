// The .pth reader (restricted unpickler over zip and legacy torch.save files): every file loads or
// is refused with an InputError naming it. Seeds: files written by Python's torch.save, given on
// the command line (tests/CMakeLists.txt writes them with tests/fuzz/make_pth_seeds.py).
#include "core/errors.h"
#include "core/tensor_file.h"
#include "fuzz/fuzz_target.h"

namespace lidere::fuzz {

std::vector<Bytes> fuzz_seeds() { return {}; }

void fuzz_one(const std::uint8_t* data, std::size_t size) {
  const std::string path = write_scratch(data, size, ".pth");
  try {
    load_tensor_file(path);
  } catch (const InputError& e) {
    expect_names(e.what(), path);
  }
}

}  // namespace lidere::fuzz
