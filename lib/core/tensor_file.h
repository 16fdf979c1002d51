// Named tensors on disk: safetensors (read and write), PyTorch .pth state dicts and the weights of
// ONNX models (read).
// Every failure is an InputError that names the file and the problem.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

namespace lidere {

// A graph node that reads a tensor of an ONNX file: exporters give some weights anonymous names
// ("onnx::MatMul_1966", stored transposed) or share one tensor among equal ones through Identity
// nodes, and the nodes that read a tensor tell a loader what it is (backbones/vit_loader).
struct TensorConsumer {
  std::string op_type, node;  // "MatMul", "/backbone/encoder/layer.0/attention/attention/query/MatMul"
  int input = 0;              // which of the node's inputs
  std::string output;         // the node's first output
};

// A set of named tensors with string metadata, as read from one file.
struct TensorFile {
  std::string source;  // the path, for messages
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::vector<TensorConsumer>> consumers;  // ONNX only: by tensor, in graph order

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

// Reads the initializers (weights) of an ONNX model as tensors under their names, with the nodes
// that read each (`consumers`). Metadata: "format" = "onnx", "onnx.producer" = e.g. "pytorch 2.7.0",
// "onnx.opset".
TensorFile load_onnx_initializers(const std::string& path);

// Reads any of these formats: ONNX by the extension .onnx, otherwise chosen by the file's first
// bytes (a .pth is a zip archive or a pickle, anything else is read as safetensors).
TensorFile load_tensor_file(const std::string& path);

}  // namespace lidere
