// lidere bench interp: time and peak memory of the interpolation-attention op at the readout's
// real shapes (S = (size/16)^2 sources, T = (size/8)^2 targets, 8 heads, Dk 2, Dv 16), for
//   official    the official formulation: the prior repeated for every image, softmax, einsum
//   reference   our ATen reference (the batch-shared prior broadcast, not copied)
//   factorized  the factorised path for constant queries (two GEMMs, no B x H x S x T tensor)
//   cuda        the CUDA online-softmax kernels (any query form; CUDA builds)
// On CUDA each case also states how far it is from its hardware bound: the online softmax against
// S*T*H exponentials per image at 3.9e12 per second (the H100/H200 MUFU rate), the factorised
// forward against the same-shape GEMM plus one read of E, both timed here on the same device.
// Each case runs in a fresh child process (this binary with --one). Peak memory is the most bytes
// held by tensors at once during the case beyond its inputs: on the CPU counted by an allocator
// wrapped around LibTorch's (resident-set figures would include what malloc keeps for reuse), on
// CUDA the caching allocator's own peak. Prints a table, or JSON lines with --json.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <c10/core/CPUAllocator.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#ifdef LIDERE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

#include "apps/lidere/commands.h"
#include "core/errors.h"
#include "ops/interp_attention.h"
#include "ops/interp_attention_impl.h"

extern char** environ;

namespace lidere::cli {
namespace {

struct BenchOptions {
  std::vector<std::int64_t> sizes = {512}, batches = {1, 8};
  std::vector<std::string> paths = {"official", "reference", "factorized"};
  std::string device = "cpu";
  int repeat = 3;
  double max_memory_gb = 0;  // skip cases estimated above this (0: 3/4 of physical / GPU memory)
  bool json = false, one = false, backward = true;
};

struct Shapes {
  std::int64_t S, T, H = 8, Dk = 2, Dv = 16;
};
Shapes shapes_for(std::int64_t size) { return {(size / 16) * (size / 16), (size / 8) * (size / 8)}; }

// LibTorch's CPU allocator with a count of the bytes live and their peak.
class CountingCpuAllocator final : public c10::Allocator {
 public:
  explicit CountingCpuAllocator(c10::Allocator* inner) : inner_(inner) {}
  c10::DataPtr allocate(size_t bytes) override {
    auto* block = new Block{inner_->allocate(bytes), bytes, this};
    const auto now = live_.fetch_add(static_cast<std::int64_t>(bytes)) + static_cast<std::int64_t>(bytes);
    for (auto peak = peak_.load(); now > peak && !peak_.compare_exchange_weak(peak, now);) {
    }
    void* data = block->inner.get();
    return {data, block, &CountingCpuAllocator::release, block->inner.device()};
  }
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
  std::int64_t live() const { return live_.load(); }
  std::int64_t peak() const { return peak_.load(); }
  void reset_peak() { peak_.store(live_.load()); }

 private:
  struct Block {
    c10::DataPtr inner;
    std::size_t bytes;
    CountingCpuAllocator* owner;
  };
  static void release(void* context) {
    auto* block = static_cast<Block*>(context);
    block->owner->live_.fetch_sub(static_cast<std::int64_t>(block->bytes));
    delete block;  // frees through the inner allocator's deleter
  }
  c10::Allocator* inner_;
  std::atomic<std::int64_t> live_{0}, peak_{0};
};

torch::Tensor official(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k,
                       const torch::Tensor& v) {
  const auto B = k.size(0);
  const torch::Tensor repeated = prior.unsqueeze(0).repeat({B, 1, 1, 1});  // (B, H, S, T), as released
  const torch::Tensor logits = repeated + torch::einsum("hd,bshd->bhs", {q, k}).unsqueeze(-1);
  return torch::einsum("bshd,bhst->bthd", {v, torch::softmax(logits, 2)});
}

// Runs one case in this process and prints one JSON line.
int run_one(const BenchOptions& o) {
  const std::string path = o.paths.at(0);
  const std::int64_t size = o.sizes.at(0), B = o.batches.at(0);
  const Shapes sh = shapes_for(size);
  const torch::Device device(o.device);
  static CountingCpuAllocator counting(c10::GetDefaultCPUAllocator());
  if (device.is_cpu()) c10::SetCPUAllocator(&counting, /*priority=*/100);
  const auto options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  torch::manual_seed(0);
  auto prior = torch::rand({sh.H, sh.S, sh.T}, options) * 4;
  auto q = torch::randn({sh.H, sh.Dk}, options), k = torch::randn({B, sh.S, sh.H, sh.Dk}, options);
  auto v = torch::randn({B, sh.S, sh.H, sh.Dv}, options);
  const torch::Tensor grad_out = torch::randn({B, sh.T, sh.H, sh.Dv}, options);
  const bool backward = o.backward;
  for (auto* t : {&prior, &q, &k, &v}) t->requires_grad_(backward);
  const auto run = [&] {
    torch::Tensor out;
    if (path == "official")
      out = official(prior, q, k, v);
    else if (path == "reference")
      out = ops::interp_attention(prior, q, k, v, ops::InterpBackend::kReference);
    else if (path == "factorized")
      out = ops::interp_attention(prior, q, k, v, ops::InterpBackend::kFactorized);
    else if (path == "cuda")
      out = ops::interp_attention(prior, q, k, v, ops::InterpBackend::kCudaOnlineSoftmax);
    else
      throw UsageError("unknown path '" + path + "' (official, reference, factorized, cuda)");
    return out;
  };
  const auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  const auto time = [&](bool with_backward) {
    std::vector<double> seconds;
    for (int r = 0; r < o.repeat + 1; ++r) {  // the first run warms up
      sync();
      const auto start = std::chrono::steady_clock::now();
      if (with_backward) {
        // The gradients are returned, not accumulated into .grad: AccumulateGrad may copy a
        // gradient it cannot take over, which would count one more prior-sized tensor for every
        // path (in the readout the prior is not a leaf, so training never pays that copy).
        const auto grads = torch::autograd::grad({(run() * grad_out).sum()}, {prior, q, k, v});
      } else {
        torch::NoGradGuard no_grad;
        run();
      }
      sync();
      if (r > 0) seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    return seconds[seconds.size() / 2];
  };
  // Peak memory of one forward (+ backward), measured from here.
  std::int64_t peak_bytes = 0;
  std::int64_t inputs_bytes = counting.live();
  if (device.is_cuda()) {
#ifdef LIDERE_WITH_CUDA
    const int index = device.index() < 0 ? 0 : device.index();
    c10::cuda::CUDACachingAllocator::resetPeakStats(index);
    inputs_bytes = c10::cuda::CUDACachingAllocator::getDeviceStats(index).allocated_bytes[0].current;
#endif
  } else {
    counting.reset_peak();
  }
  const double forward_s = time(false);
  ops::release_cached_state();  // the forward timing filled the inference cache of exp(prior)
  const double both_s = backward ? time(true) : 0.0;
  if (device.is_cuda()) {
#ifdef LIDERE_WITH_CUDA
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    peak_bytes = stats.allocated_bytes[0].peak - inputs_bytes;
#endif
  } else {
    peak_bytes = counting.peak() - inputs_bytes;
  }
  // Bounds (CUDA): what the forward cannot beat on this device.
  double bound_ms = 0;
  std::string bound_kind;
  nlohmann::json parts = nlohmann::json::object();
  if (device.is_cuda() && path == "cuda") {
    constexpr double kExpPerSecond = 3.9e12;
    bound_ms = 1e3 * static_cast<double>(sh.S * sh.T * sh.H) / kExpPerSecond;  // per image
    bound_kind = "exponentials";
  } else if (device.is_cuda() && path == "factorized") {
    // The factorised forward with a cached E: one (H, B*(Dv+1), S) x (H, S, T) GEMM, which reads E.
    torch::NoGradGuard no_grad;
    const torch::Tensor E = torch::rand({sh.H, sh.S, sh.T}, options);
    const torch::Tensor W = torch::rand({sh.H, B * (sh.Dv + 1), sh.S}, options);
    const auto median_ms = [&](const std::function<void()>& f) {
      std::vector<double> ms;
      for (int r = 0; r < o.repeat + 1; ++r) {
        sync();
        const auto start = std::chrono::steady_clock::now();
        f();
        sync();
        if (r > 0) ms.push_back(1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      std::sort(ms.begin(), ms.end());
      return ms[ms.size() / 2];
    };
    const double gemm_ms = median_ms([&] { torch::matmul(W, E); });
    parts["forward_gemm_ms_per_image"] = gemm_ms / static_cast<double>(B);
    const double read_ms = median_ms([&] { E.sum(); });
    bound_ms = (gemm_ms + read_ms) / static_cast<double>(B);
    bound_kind = "gemm+read";
#ifdef LIDERE_WITH_CUDA
    // Where the backward pass spends its time: the fused prior/weight-gradient kernel and the
    // value-gradient GEMM E (H, S, T) x G (H, T, B*Dv), alone, per image.
    const torch::Tensor vh = torch::randn({sh.H, B, sh.S, sh.Dv}, options), wb = torch::rand({sh.H, B, sh.S}, options);
    const torch::Tensor G = torch::randn({sh.H, B, sh.T, sh.Dv}, options), r = torch::randn({sh.H, B, sh.T}, options);
    torch::Tensor scratch = E.clone();
    parts["fused_backward_kernel_ms_per_image"] =
        median_ms([&] { ops::detail::factorized_backward_cuda(scratch, vh, wb, G, r); }) / static_cast<double>(B);
    const torch::Tensor Gt = torch::randn({sh.H, sh.T, B * sh.Dv}, options);
    parts["value_gemm_ms_per_image"] = median_ms([&] { torch::matmul(E, Gt); }) / static_cast<double>(B);
#endif
  }
  nlohmann::json line = {{"path", path},
                         {"size", size},
                         {"batch", B},
                         {"S", sh.S},
                         {"T", sh.T},
                         {"heads", sh.H},
                         {"device", o.device},
                         {"threads", torch::get_num_threads()},
                         {"forward_ms_per_image", 1e3 * forward_s / static_cast<double>(B)},
                         {"peak_mb", static_cast<double>(peak_bytes) / 1048576.0}};
  if (backward) line["forward_backward_ms_per_image"] = 1e3 * both_s / static_cast<double>(B);
  if (bound_ms > 0) {
    line["bound"] = bound_kind;
    line["bound_ms_per_image"] = bound_ms;
    line["forward_over_bound"] = 1e3 * forward_s / static_cast<double>(B) / bound_ms;
  }
  if (!parts.empty()) line["parts"] = parts;
  fmt::print("{}\n", line.dump());
  return 0;
}

// Rough bytes a case needs (for skipping what cannot fit): the (B, H, S, T) tensors it holds.
double estimated_gb(const std::string& path, std::int64_t size, std::int64_t B, bool backward) {
  const Shapes sh = shapes_for(size);
  const double full = 4.0 * static_cast<double>(B * sh.H) * static_cast<double>(sh.S) * static_cast<double>(sh.T);
  const double shared = 4.0 * static_cast<double>(sh.H) * static_cast<double>(sh.S) * static_cast<double>(sh.T);
  if (path == "factorized") return (backward ? 5 : 2) * shared / 1e9;
  if (path == "cuda") return (backward ? 3 : 2) * shared / 1e9;
  return ((backward ? 4 : 2) * full + (path == "official" ? full : 0) + shared) / 1e9;
}

double total_memory_gb(const std::string& device) {
#ifdef LIDERE_WITH_CUDA
  if (device.rfind("cuda", 0) == 0) {
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) return static_cast<double>(total_bytes) / 1e9;
  }
#else
  (void)device;
#endif
  return static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE)) / 1e9;
}

std::string run_child(const std::vector<std::string>& args, int& status) {
  int out_pipe[2];
  if (pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    throw std::runtime_error("cannot start a benchmark process");
  }
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(out_pipe[0], buffer, sizeof buffer)) > 0;)
    output.append(buffer, static_cast<std::size_t>(n));
  close(out_pipe[0]);
  waitpid(pid, &status, 0);
  return output;
}

int run_all(const BenchOptions& o) {
  const double cap = o.max_memory_gb > 0 ? o.max_memory_gb : 0.75 * total_memory_gb(o.device);
  if (!o.json) {
    fmt::print("interp_attention on {} ({} threads): per image, median of {}\n", o.device, torch::get_num_threads(),
               o.repeat);
    fmt::print("{:>5} {:>5} {:>11} {:>13} {:>16} {:>10} {:>12}\n", "size", "batch", "path", "forward ms", "fwd+bwd ms",
               "peak MB", "fwd/bound");
  }
  for (const auto size : o.sizes) {
    for (const auto batch : o.batches) {
      for (const auto& path : o.paths) {
        nlohmann::json line;
        const double need = estimated_gb(path, size, batch, o.backward);
        if (need > cap) {
          line = {{"path", path},
                  {"size", size},
                  {"batch", batch},
                  {"skipped", fmt::format("needs about {:.0f} GB, limit {:.0f} GB", need, cap)}};
        } else {
          std::vector<std::string> args = {"lidere",    "bench",
                                           "interp",    "--one",
                                           "--sizes",   std::to_string(size),
                                           "--batches", std::to_string(batch),
                                           "--paths",   path,
                                           "--device",  o.device,
                                           "--repeat",  std::to_string(o.repeat)};
          if (!o.backward) args.push_back("--forward-only");
          int status = 0;
          const std::string out = run_child(args, status);
          try {
            line = nlohmann::json::parse(out);
          } catch (const nlohmann::json::exception&) {
            line = {
                {"path", path},
                {"size", size},
                {"batch", batch},
                {"failed", WIFSIGNALED(status) ? fmt::format("killed by signal {} (out of memory?)", WTERMSIG(status))
                                               : fmt::format("exit {}", WEXITSTATUS(status))}};
          }
        }
        if (o.json) {
          fmt::print("{}\n", line.dump());
        } else if (line.contains("forward_ms_per_image")) {
          fmt::print(
              "{:>5} {:>5} {:>11} {:>13.3f} {:>16} {:>10.0f} {:>12}\n", size, batch, path,
              line["forward_ms_per_image"].get<double>(),
              line.contains("forward_backward_ms_per_image")
                  ? fmt::format("{:.3f}", line["forward_backward_ms_per_image"].get<double>())
                  : "-",
              line["peak_mb"].get<double>(),
              line.contains("forward_over_bound")
                  ? fmt::format("{:.2f} {}", line["forward_over_bound"].get<double>(), line["bound"].get<std::string>())
                  : "-");
          if (line.contains("parts")) {
            for (const auto& [name, value] : line["parts"].items())
              fmt::print("{:>23} {}: {:.4f}\n", "", name, value.get<double>());
          }
        } else {
          fmt::print("{:>5} {:>5} {:>11}   {}\n", size, batch, path,
                     line.value("skipped", line.value("failed", std::string())));
        }
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

}  // namespace

CommandAction add_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks (docs/performance.md)");
  bench->require_subcommand(1);
  CLI::App* cmd = bench->add_subcommand("interp",
                                        "Time and peak memory of the prior+attention op: official formulation, "
                                        "reference, factorised path, CUDA kernel");
  cmd->add_option("--sizes", o->sizes, "Input sizes in px (S = (size/16)^2, T = (size/8)^2); default 512")
      ->delimiter(',');
  cmd->add_option("--batches", o->batches, "Batch sizes (default 1,8)")->delimiter(',');
  cmd->add_option("--paths", o->paths, "official, reference, factorized, cuda (default: the first three)")
      ->delimiter(',');
  cmd->add_option("--device", o->device, "cpu (default) or cuda");
  cmd->add_option("--repeat", o->repeat, "Timed runs per case, median reported (default 3)");
  cmd->add_option("--max-memory-gb", o->max_memory_gb, "Skip cases estimated to need more (default 3/4 of the memory)");
  cmd->add_flag(
      "--forward-only", [o](std::int64_t) { o->backward = false; }, "Only time the forward pass");
  cmd->add_flag("--json", o->json, "One JSON object per case");
  cmd->add_flag("--one", o->one, "(internal) run exactly one case in this process")->group("");
  const CommandAction train = add_bench_train(*bench);
#if defined(LIDERE_WITH_OPENCV)
  const CommandAction pack = add_bench_pack(*bench);
#endif
  return [=] {
    if (bench->got_subcommand("train")) return train();
#if defined(LIDERE_WITH_OPENCV)
    if (bench->got_subcommand("pack")) return pack();
#endif
    return o->one ? run_one(*o) : run_all(*o);
  };
}

}  // namespace lidere::cli
