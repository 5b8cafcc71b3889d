// Reader for tfjs weights manifests (`<model>-weights_manifest.json` + one or more `.bin` shards),
// the format the face-api models ship in.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace facematch::models {

struct Tensor {
  std::string name;
  std::vector<int> shape;        // as in the manifest; filters are HWIO, fc matrices [in, out]
  std::vector<float> values;     // float32 tensors, dequantized exactly as tfjs does
  std::vector<std::int32_t> ints;  // int32 tensors (graph constants)

  std::size_t element_count() const;
};

class WeightMap {
 public:
  // Loads `<dir>/<model>-weights_manifest.json` and its shards. Every tensor's byte range is
  // checked against the shard sizes; a short or long shard is an Error{model_error} naming the
  // tensor and the byte counts.
  static WeightMap load(const std::filesystem::path& dir, const std::string& model);

  // The float tensor `name`, which must have exactly `shape`; otherwise Error{model_error}.
  const Tensor& get(const std::string& name, std::initializer_list<int> shape) const;
  const Tensor& get(const std::string& name, const std::vector<int>& shape) const;
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  std::size_t size() const { return tensors_.size(); }
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  const std::string& model() const { return model_; }

 private:
  std::string model_;
  std::map<std::string, Tensor> tensors_;
};

}  // namespace facematch::models
