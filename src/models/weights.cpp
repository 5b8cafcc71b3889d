#include "models/weights.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "facematch/error.hpp"

namespace facematch::models {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(ErrorCode::model_error, message); }

std::string shape_text(const std::vector<int>& shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

std::vector<char> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail("cannot open model file " + path.string() + " (run ./setup.sh to fetch the models)");
  std::vector<char> bytes(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size())))
    fail("cannot read model file " + path.string());
  return bytes;
}

std::size_t bytes_per_element(const std::string& storage_dtype, const std::string& tensor) {
  if (storage_dtype == "uint8") return 1;
  if (storage_dtype == "uint16" || storage_dtype == "float16") return 2;
  if (storage_dtype == "float32" || storage_dtype == "int32") return 4;
  fail("tensor " + tensor + ": unsupported storage dtype '" + storage_dtype + "'");
}

// IEEE 754 binary16 to float, subnormals included (tfjs converts float16 weights the same way).
float half_to_float(std::uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float magnitude;
  if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31)
    magnitude = mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  return sign ? -magnitude : magnitude;
}

}  // namespace

std::size_t Tensor::element_count() const {
  return std::accumulate(shape.begin(), shape.end(), std::size_t{1},
                         [](std::size_t a, int d) { return a * static_cast<std::size_t>(d); });
}

WeightMap WeightMap::load(const std::filesystem::path& dir, const std::string& model) {
  // face-api ships `<model>-weights_manifest.json`; a tfjs graph model (`<model>.json`) carries the same
  // manifest under "weightsManifest", beside the graph facematch describes in C++ instead.
  const auto face_api_manifest = dir / (model + "-weights_manifest.json");
  const bool graph_model =
      !std::filesystem::exists(face_api_manifest) && std::filesystem::exists(dir / (model + ".json"));
  const auto manifest_path = graph_model ? dir / (model + ".json") : face_api_manifest;
  const auto manifest_bytes = read_file(manifest_path);
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(manifest_bytes.begin(), manifest_bytes.end());
    if (graph_model) manifest = manifest.at("weightsManifest");
  } catch (const nlohmann::json::exception& e) {
    fail("model manifest " + manifest_path.string() +
         " is not valid JSON with a weights manifest: " + e.what());
  }
  if (!manifest.is_array()) fail("model manifest " + manifest_path.string() + " is not a list of groups");

  WeightMap map;
  map.model_ = model;
  try {
    for (const auto& group : manifest) {
      // tfjs concatenates a group's shards and lays its tensors out back to back in manifest order.
      std::vector<char> blob;
      for (const auto& shard : group.at("paths")) {
        const auto bytes = read_file(dir / shard.get<std::string>());
        blob.insert(blob.end(), bytes.begin(), bytes.end());
      }
      std::size_t offset = 0;
      for (const auto& spec : group.at("weights")) {
        Tensor t;
        t.name = spec.at("name").get<std::string>();
        t.shape = spec.at("shape").get<std::vector<int>>();
        for (int d : t.shape)
          if (d < 0) fail("tensor " + t.name + " has a negative dimension");
        const auto dtype = spec.at("dtype").get<std::string>();
        if (dtype != "float32" && dtype != "int32") fail("tensor " + t.name + ": unsupported dtype " + dtype);
        const bool quantized = spec.contains("quantization");
        const auto storage = quantized ? spec["quantization"].at("dtype").get<std::string>() : dtype;
        const std::size_t count = t.element_count();
        const std::size_t bytes = count * bytes_per_element(storage, t.name);
        if (offset + bytes > blob.size()) {
          fail("model " + model + ": tensor " + t.name + " " + shape_text(t.shape) + " needs bytes " +
               std::to_string(offset) + ".." + std::to_string(offset + bytes) + " but the weights file has " +
               std::to_string(blob.size()) + " bytes (truncated or wrong .bin)");
        }
        const char* src = blob.data() + offset;
        if (quantized && storage == "float16") {
          if (dtype != "float32") fail("tensor " + t.name + ": float16 storage of a " + dtype + " tensor");
          t.values.resize(count);
          for (std::size_t i = 0; i < count; ++i) {
            std::uint16_t h;
            std::memcpy(&h, src + 2 * i, 2);
            t.values[i] = half_to_float(h);
          }
        } else if (quantized) {
          // tfjs: value = q * scale + min (int32: Math.round, i.e. floor(v + 0.5)), evaluated in double, then
          // stored as float32 (or rounded for int32). Doing the arithmetic in float is off by one ulp on some
          // weights.
          const double scale = spec["quantization"].at("scale").get<double>();
          const double min = spec["quantization"].at("min").get<double>();
          if (storage != "uint8" && storage != "uint16")
            fail("tensor " + t.name + ": unsupported quantization dtype " + storage);
          const bool wide = storage == "uint16";
          auto q_at = [&](std::size_t i) -> double {
            if (!wide) return static_cast<unsigned char>(src[i]);
            std::uint16_t v;
            std::memcpy(&v, src + 2 * i, 2);
            return v;
          };
          if (dtype == "float32") {
            t.values.resize(count);
            for (std::size_t i = 0; i < count; ++i) t.values[i] = static_cast<float>(q_at(i) * scale + min);
          } else {
            t.ints.resize(count);
            for (std::size_t i = 0; i < count; ++i)
              t.ints[i] = static_cast<std::int32_t>(std::floor(q_at(i) * scale + min + 0.5));
          }
        } else if (dtype == "float32") {
          t.values.resize(count);
          std::memcpy(t.values.data(), src, bytes);
        } else {
          t.ints.resize(count);
          std::memcpy(t.ints.data(), src, bytes);
        }
        offset += bytes;
        map.tensors_.emplace(t.name, std::move(t));
      }
      if (offset != blob.size()) {
        fail("model " + model + ": the manifest describes " + std::to_string(offset) +
             " bytes but the weights file has " + std::to_string(blob.size()) +
             " (wrong .bin for this manifest)");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    fail("model manifest " + manifest_path.string() + " is malformed: " + e.what());
  }
  return map;
}

const Tensor& WeightMap::get(const std::string& name, std::initializer_list<int> shape) const {
  return get(name, std::vector<int>(shape));
}

const Tensor& WeightMap::get(const std::string& name, const std::vector<int>& shape) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("model " + model_ + " has no tensor " + name);
  if (it->second.shape != shape) {
    fail("model " + model_ + ": tensor " + name + " has shape " + shape_text(it->second.shape) +
         ", expected " + shape_text(shape));
  }
  return it->second;
}

}  // namespace facematch::models
