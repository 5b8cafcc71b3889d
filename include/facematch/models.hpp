// The pretrained face-api models, loaded once and shared read-only by every thread.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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
  // bf16 where the CPU computes bf16 natively (AVX512-BF16 or AMX), where the nets it applies to were
  // measured faster in it; fp32 elsewhere. Which one ran is reported (ImageAnalysis::precision).
  automatic,
  // Exact: descriptors equal face-api's within 1e-6. The parity tests run this.
  fp32,
  // The landmark, recognition and tiny detector nets with weights and the tensors between layers
  // rounded to bfloat16 (fp32 accumulation and outputs), about 2x faster on AVX512-BF16. SSD stays
  // fp32: in bf16 it fails the accuracy gate (docs/speed.md "Precision, batching and threads").
  bf16,
  // The recognition net's convolutions in int8 (8-bit activations and weights, int32 accumulation),
  // with activation ranges calibrated on the calibration photos (data/int8-ranges.json); the other
  // nets run as under automatic. Never chosen automatically (docs/speed.md "Precision, batching and
  // threads").
  int8,
};
std::string_view to_string(Precision precision);  // "auto", "fp32", "bf16", "int8"
// Error{invalid_argument} on anything else.
Precision parse_precision(std::string_view name);
// What `requested` runs on this CPU: automatic becomes fp32 or bf16, the others stay as they are; int8
// on a CPU without VNNI or AMX is Error{invalid_argument}.
Precision resolve_precision(Precision requested);
// The precision net `key` (a model name, e.g. "face_recognition_model") runs in under `precision`.
Precision net_precision(std::string_view key, Precision precision);

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
  // fp32 or bf16: what nets compiled through this handle run in.
  Precision precision() const;

  // Internal to the stages: the weights of one model (e.g. "face_recognition_model").
  const models::WeightMap& weights(const std::string& model) const;
  // Internal to the stages: a compiled net cached under (`key`, batch, net_precision(key, precision()),
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
