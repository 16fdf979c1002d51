// Reading PyTorch .pth checkpoints (torch.save's zip format) without Python.
//
// LibTorch's own torch::pickle_load cannot read a state dict (it fails on the OrderedDict that
// Module.state_dict() returns), so this is a small, restricted unpickler: it understands the
// pickle opcodes torch.save emits and only the globals a state dict needs (OrderedDict, the
// tensor and parameter rebuild functions, the typed storages). Anything else is refused with an
// error naming the file and the global: a checkpoint can never run code.
#pragma once

#include <map>
#include <string>

#include <torch/types.h>

namespace lidere {

// Name -> tensor of the state dict in a torch.save zip archive. A dict wrapping the state dict
// under "state_dict" or "model" is unwrapped. Throws InputError naming the file and the problem.
std::map<std::string, torch::Tensor> read_pth_state_dict(const std::string& path);

}  // namespace lidere
