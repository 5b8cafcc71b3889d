// The pretrained face-api models, loaded once and shared read-only by every thread.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace facematch {

namespace engine {
class CompiledNet;
class NetDescription;
}  // namespace engine
namespace models {
class WeightMap;
}

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

  // Internal to the stages: the weights of one model (e.g. "face_recognition_model").
  const models::WeightMap& weights(const std::string& model) const;
  // Internal to the stages: a compiled net cached under `key`, created by `describe` on first use.
  // Safe to call from many threads.
  std::shared_ptr<const engine::CompiledNet> compiled(const std::string& key, int batch,
                                                      const std::function<engine::NetDescription()>& describe) const;

  struct Impl;

 private:
  Models();
  std::unique_ptr<Impl> impl_;
};

}  // namespace facematch
