// Named tensors on disk: safetensors (read and write) and PyTorch .pth state dicts (read).
// Every failure is an InputError that names the file and the problem.
#pragma once

#include <map>
#include <string>

#include <torch/types.h>

namespace lidere {

// A set of named tensors with string metadata, as read from one file.
struct TensorFile {
  std::string source;  // the path, for messages
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> metadata;

  bool contains(const std::string& name) const { return tensors.count(name) != 0; }
  // The tensor called `name`; throws InputError naming the file when it is absent.
  const torch::Tensor& at(const std::string& name) const;
  // The metadata value called `key`; throws InputError naming the file when it is absent.
  const std::string& meta(const std::string& key) const;
};

// Reads a safetensors file. All layout checks of core/safetensors_format.h apply.
TensorFile load_safetensors(const std::string& path);

// Writes tensors (any supported dtype; made contiguous on the CPU) atomically.
void save_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads a state dict saved by Python's torch.save (zip format): a dict of name -> tensor, or a
// dict that holds one under "state_dict" or "model". See core/pth_reader.h.
TensorFile load_pth_state_dict(const std::string& path);

// Reads either format, chosen by the file's first bytes (a .pth is a zip archive or a pickle).
TensorFile load_tensor_file(const std::string& path);

}  // namespace lidere
