#include "test_support.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include <openssl/evp.h>

#include "facematch/image.hpp"

namespace facematch::testing {
namespace {

std::filesystem::path env_or(const char* name, const std::filesystem::path& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::filesystem::path(value) : fallback;
}

}  // namespace

std::filesystem::path models_dir() { return env_or("FACEMATCH_MODELS", FACEMATCH_SOURCE_DIR "/models"); }
std::filesystem::path shared_dir() { return env_or("FACEMATCH_SHARED", FACEMATCH_SOURCE_DIR "/../shared"); }
std::filesystem::path testdata_dir() { return env_or("FACEMATCH_TESTDATA", FACEMATCH_BINARY_DIR "/testdata"); }
std::filesystem::path golden_dir() { return FACEMATCH_SOURCE_DIR "/tests/golden"; }

cv::Mat shared_photo(const std::string& name) {
  const auto path = shared_dir() / "faces" / name;
  require_file(path, "the labelled photos live in ../shared/faces (or $FACEMATCH_SHARED/faces)");
  return read_image(path);
}

std::shared_ptr<const Models> shared_models() {
  static std::once_flag once;
  static std::shared_ptr<const Models> models;
  std::call_once(once, [] {
    require_file(models_dir() / "face_recognition_model.bin", "run ./setup.sh or tools/fetch-models.sh");
    models = Models::load(models_dir());
  });
  return models;
}

void require_file(const std::filesystem::path& path, const std::string& how_to_get_it) {
  if (!std::filesystem::exists(path))
    throw std::runtime_error("missing test input " + path.string() + " (" + how_to_get_it + ")");
}

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<float> read_f32(const std::filesystem::path& path) {
  const auto bytes = read_bytes(path);
  if (bytes.size() % sizeof(float) != 0) throw std::runtime_error(path.string() + " is not a float32 file");
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return nlohmann::json::parse(in);
}

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::string sha256_hex(const void* data, std::size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data, size, digest, &length, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

}  // namespace facematch::testing
