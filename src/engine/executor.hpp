// Executes a NetDescription with oneDNN primitives (NHWC activations, fp32 or bf16).
//
// CompiledNet holds everything that is read-only after load (primitives, weights reordered once into
// the layout each primitive chose) and is shared by every thread. NetRunner holds one thread's
// mutable state (activation buffers, scratchpad, stream); use one runner per thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/net.hpp"

namespace facematch::engine {

// How many threads oneDNN may use for primitives run from the calling thread (OpenMP is per calling
// thread). Callers that already run one inference per core set 1 to avoid oversubscription.
void set_threads_for_this_thread(int threads);
int threads_for_this_thread();
// Cores this process may use (sched affinity), the basis of every thread budget.
int available_cores();

// Arithmetic of the activations and weights. bf16 keeps fp32 accumulation, biases and the net's
// final outputs (read back as fp32); only the tensors between layers and the weights are rounded.
enum class DataType { f32, bf16 };
// The CPU executes bf16 dot products natively (AVX512-BF16 or AMX), so oneDNN does not emulate them.
bool cpu_has_native_bf16();
// oneDNN's name of the instruction set it dispatches to (e.g. "avx512_core_bf16").
std::string cpu_isa_name();

class CompiledNet {
 public:
  // Creates every primitive for a fixed batch size. Throws Error{model_error} if oneDNN rejects one.
  CompiledNet(NetDescription description, int batch, DataType type = DataType::f32);
  ~CompiledNet();
  CompiledNet(const CompiledNet&) = delete;
  CompiledNet& operator=(const CompiledNet&) = delete;

  const NetDescription& description() const { return description_; }
  int batch() const { return batch_; }
  DataType type() const { return type_; }
  // oneDNN's implementation name per primitive (e.g. "brgconv:avx512_core"), for diagnostics.
  std::vector<std::string> implementations() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  NetDescription description_;
  int batch_;
  DataType type_;
  std::unique_ptr<Impl> impl_;
};

class NetRunner {
 public:
  explicit NetRunner(std::shared_ptr<const CompiledNet> net);
  ~NetRunner();
  NetRunner(const NetRunner&) = delete;
  NetRunner& operator=(const NetRunner&) = delete;

  // `input` is batch x H x W x C floats (NHWC, already normalized); throws if the size is wrong.
  // In bf16 the input is rounded to bf16 on the way in.
  void run(std::span<const float> input);
  // Output i (in mark_output order) of the last run, batch x H x W x C floats.
  std::span<const float> output(std::size_t i) const;
  // Any value of the last run, for layer-by-layer debugging and parity checks (bf16 values are
  // converted to a float copy, valid until the next run).
  std::span<const float> value(ValueId id) const;
  const CompiledNet& net() const { return *net_; }

 private:
  struct State;
  std::shared_ptr<const CompiledNet> net_;
  std::unique_ptr<State> state_;
};

}  // namespace facematch::engine
