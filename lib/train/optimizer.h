// AdamW and the learning-rate schedule. Our own AdamW (the same update as torch.optim.AdamW,
// checked against it in tests/train) so that its whole state is a set of named tensors that a
// checkpoint stores and a resumed run restores exactly.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace lidere::train {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // the released train_simple uses 0
};

// Parameters that share a learning rate: the step's lr times `lr_scale` (as torch's parameter
// groups, whose weight decay also uses the group's rate). LoRA adapters train at their own rate
// (TrainConfig::lora_lr) under the same schedule.
struct ParameterGroup {
  std::vector<std::pair<std::string, torch::Tensor>> parameters;
  double lr_scale = 1.0;
};

class AdamW {
 public:
  // `parameters`: (name, tensor) pairs; the names key the state in checkpoints.
  AdamW(std::vector<std::pair<std::string, torch::Tensor>> parameters, AdamWOptions options);
  // Several groups; names must be unique over all of them.
  AdamW(std::vector<ParameterGroup> groups, AdamWOptions options);

  void zero_grad();
  // One update with learning rate `lr` (the schedule's value for this step) times each group's scale.
  void step(double lr);
  std::int64_t steps() const { return steps_; }

  // "<name>.exp_avg", "<name>.exp_avg_sq" per parameter plus "step".
  std::map<std::string, torch::Tensor> state() const;
  // Restores a state() (throws InputError naming `source` when a tensor is missing or misshaped).
  void load_state(const std::map<std::string, torch::Tensor>& state, const std::string& source);

 private:
  struct Slot {
    std::string name;
    torch::Tensor param, exp_avg, exp_avg_sq;
    double lr_scale = 1.0;
  };
  std::vector<Slot> slots_;
  AdamWOptions options_;
  std::int64_t steps_ = 0;
};

// Learning rate at step `step` (0-based) of `total`: linear warm-up from lr / warmup to lr over
// `warmup` steps, then cosine decay to 0 ("cosine") or constant ("constant").
double scheduled_lr(double lr, std::int64_t step, std::int64_t total, std::int64_t warmup, const std::string& schedule);

}  // namespace lidere::train
