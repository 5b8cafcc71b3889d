// Executes a NetDescription with oneDNN primitives (NHWC activations; fp32, bf16 or int8). What the CPU
// offers (threads, instruction sets) is engine/cpu_features.hpp.
//
// CompiledNet holds everything that is read-only after load (primitives, weights reordered once into
// the layout each primitive chose) and is shared by every thread. NetRunner holds one thread's
// mutable state (activation buffers, scratchpad, stream); use one runner per thread.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/cpu_features.hpp"
#include "engine/net.hpp"

namespace facematch::engine {

// Arithmetic of the activations and weights. bf16 keeps fp32 accumulation, biases and the net's
// final outputs (read back as fp32); only the tensors between layers and the weights are rounded.
// int8: every ordinary convolution (not depthwise, not marked float_in_int8) multiplies 8-bit activations
// (u8 where they cannot be negative, else s8, one scale per tensor from calibrated ranges) by s8 weights
// (one scale per output channel), accumulating in int32; the other layers run as in bf16 where the CPU
// has it natively, else in fp32. A convolution marked keep_fp32 runs in fp32 under every type.
enum class DataType { f32, bf16, int8 };

class CompiledNet {
 public:
  // Creates every primitive for a fixed batch size and the calling thread's thread count. Throws
  // Error{model_error} if oneDNN rejects one. int8 needs `value_ranges`: for every value of the
  // description, the largest magnitude it takes on calibration inputs (update_value_ranges).
  CompiledNet(NetDescription description, int batch, DataType type = DataType::f32,
              std::vector<float> value_ranges = {});
  ~CompiledNet();
  CompiledNet(const CompiledNet&) = delete;
  CompiledNet& operator=(const CompiledNet&) = delete;

  const NetDescription& description() const { return description_; }
  int batch() const { return batch_; }
  DataType type() const { return type_; }
  // The thread count its primitives were created for, and run with.
  int threads() const { return threads_; }
  // oneDNN's implementation name per primitive (e.g. "brgconv:avx512_core"), for diagnostics.
  std::vector<std::string> implementations() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  NetDescription description_;
  int batch_;
  DataType type_;
  int threads_;
  std::unique_ptr<Impl> impl_;
};

class NetRunner {
 public:
  explicit NetRunner(std::shared_ptr<const CompiledNet> net);
  ~NetRunner();
  NetRunner(const NetRunner&) = delete;
  NetRunner& operator=(const NetRunner&) = delete;

  // The input buffer, batch x H x W x C floats (NHWC, already normalized), for the caller to fill
  // before run(); it keeps its contents between runs. In bf16 it is rounded to bf16 on the way in.
  std::span<float> input();
  void run();
  // Copies `input` into the input buffer and runs; throws if the size is wrong.
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

// Raises ranges[v] to the largest |x| of every value v of the runner's last run (the calibration of
// DataType::int8; run it on an fp32 net). Resizes `ranges` to the net's value count if it is empty.
void update_value_ranges(const NetRunner& runner, std::vector<float>& ranges);

}  // namespace facematch::engine
