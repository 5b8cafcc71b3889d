// The pretrained face-api models, loaded once and shared read-only by every thread.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace facematch {

namespace engine {
class CompiledNet;
class NetDescription;
}  // namespace engine
namespace models {
class WeightMap;
}

// Arithmetic the nets run in.
enum class Precision {
  // Per net, the fastest of the precisions its accuracy gate allows (models/model_registry.cpp) that this
  // CPU runs natively, timed on a few warm runs the first time the net is compiled and cached on disk
  // (precision_cache_file()); a precision replaces fp32 only when clearly faster. What each net chose
  // and its timings are reported (Models::net_precisions, ImageAnalysis::nets, `facematch info`).
  automatic,
  // Exact: descriptors equal face-api's within 1e-6. The parity tests run this.
  fp32,
  // The landmark, recognition and tiny detector nets with weights and the tensors between layers
  // rounded to bfloat16 (fp32 accumulation and outputs), about 2x faster on AVX512-BF16. SSD stays
  // fp32: in bf16 it fails the accuracy gate (docs/speed.md "Precision, batching and threads").
  bf16,
  // The recognition net's convolutions in int8 (8-bit activations and weights, int32 accumulation),
  // with activation ranges calibrated on the calibration photos (data/int8-ranges.json); the other
  // nets run as under automatic, which also picks int8 for the recognition net where it measures fastest.
  int8,
};
std::string_view to_string(Precision precision);  // "auto", "fp32", "bf16", "int8"
// Error{invalid_argument} on anything else.
Precision parse_precision(std::string_view name);
// `requested`, checked against this CPU: int8 on a CPU without VNNI or AMX, or bf16 without AVX-512, is
// Error{invalid_argument}. automatic stays automatic (each net's choice is made when it is compiled).
Precision resolve_precision(Precision requested);
// The precision net `key` (a model name, e.g. "face_recognition_model") runs in under `precision`:
// automatic when it is left to measurement (the net has more than one candidate, auto_candidates).
Precision net_precision(std::string_view key, Precision precision);
// What automatic chooses net `key`'s precision among on this CPU: fp32, then each precision its gate
// allows that the CPU runs natively (bf16 with AVX512-BF16 or AMX, int8 with VNNI or AMX).
std::vector<Precision> auto_candidates(std::string_view key);

// What one net runs in, and under automatic why.
struct NetPrecision {
  std::string net;                        // its compiled-net key, e.g. "tiny_face_detector_model@416"
  int threads = 1;                        // the oneDNN thread count it was compiled, and measured, for
  Precision precision = Precision::fp32;  // never automatic
  // Under automatic: the median ms of one run of one input per candidate precision on this CPU,
  // measured in this process or read from the cache (from_cache). Empty when there was no choice.
  std::map<Precision, double> measured_ms;
  bool from_cache = false;
};
// The file automatic's measurements are cached in, one per CPU model, core count and oneDNN version:
// under $FACEMATCH_CACHE_DIR if set, else $XDG_CACHE_HOME/facematch, else ~/.cache/facematch; empty
// when none of them is set. Failing to read or write it only costs a new measurement.
std::filesystem::path precision_cache_file();

// Where to look for the model files: `explicit_dir` if given, else $FACEMATCH_MODELS, else the folder
// the build installed them to.
std::filesystem::path locate_models(const std::optional<std::filesystem::path>& explicit_dir);

class Models {
 public:
  // Loads and validates every model facematch uses: SHA-256 of each file against the sums committed
  // with the source (skipped if verify_checksums is false), then each tensor's name and shape.
  // Throws Error{model_error} naming the missing, altered or malformed file.
  static std::shared_ptr<const Models> load(const std::filesystem::path& dir, bool verify_checksums = true);

  ~Models();
  const std::filesystem::path& directory() const;

  // The same weights and compiled-net cache, with nets compiled in `precision` (resolved for this CPU):
  // stages created from the returned handle run in it. Cheap; load() returns an fp32 handle.
  std::shared_ptr<const Models> with_precision(Precision precision) const;
  // What nets compiled through this handle run in (automatic: each net's own choice).
  Precision precision() const;
  // Every net compiled through handles of this precision for `threads` oneDNN threads (0: any count),
  // and what it runs in.
  std::vector<NetPrecision> net_precisions(int threads = 0) const;
  // Compiles every net at its default input size for one input at the calling thread's thread count
  // (under automatic, measuring those with a choice to make) and returns their net_precisions(): what
  // `serve`'s warm-up and `facematch info` do so that no request pays for it.
  std::vector<NetPrecision> prepare_nets() const;

  // Internal to the stages: the weights of one model (e.g. "face_recognition_model").
  const models::WeightMap& weights(const std::string& model) const;
  // Internal to the stages: a compiled net cached under (`key`, batch, what net `key` runs in under
  // precision() (measured on first use under automatic),
  // the calling thread's oneDNN thread count), created by `describe` on first use. It runs only where
  // that thread count is set (models/net_runners.hpp picks the right one). Safe to call from many threads.
  std::shared_ptr<const engine::CompiledNet> compiled(
      const std::string& key, int batch, const std::function<engine::NetDescription()>& describe) const;

  struct Impl;

 private:
  Models();
  std::shared_ptr<Impl> impl_;  // shared by every precision handle
  Precision precision_ = Precision::fp32;
};

}  // namespace facematch
