// Executes a NetDescription with oneDNN primitives (fp32, NHWC activations).
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

class CompiledNet {
 public:
  // Creates every primitive for a fixed batch size. Throws Error{model_error} if oneDNN rejects one.
  CompiledNet(NetDescription description, int batch);
  ~CompiledNet();
  CompiledNet(const CompiledNet&) = delete;
  CompiledNet& operator=(const CompiledNet&) = delete;

  const NetDescription& description() const { return description_; }
  int batch() const { return batch_; }
  // oneDNN's implementation name per primitive (e.g. "brgconv:avx512_core"), for diagnostics.
  std::vector<std::string> implementations() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  NetDescription description_;
  int batch_;
  std::unique_ptr<Impl> impl_;
};

class NetRunner {
 public:
  explicit NetRunner(std::shared_ptr<const CompiledNet> net);
  ~NetRunner();
  NetRunner(const NetRunner&) = delete;
  NetRunner& operator=(const NetRunner&) = delete;

  // `input` is batch x H x W x C floats (NHWC, already normalized); throws if the size is wrong.
  void run(std::span<const float> input);
  // Output i (in mark_output order) of the last run, batch x H x W x C floats.
  std::span<const float> output(std::size_t i) const;
  // Any value of the last run, for layer-by-layer debugging and parity checks.
  std::span<const float> value(ValueId id) const;
  const CompiledNet& net() const { return *net_; }

 private:
  struct State;
  std::shared_ptr<const CompiledNet> net_;
  std::unique_ptr<State> state_;
};

}  // namespace facematch::engine
