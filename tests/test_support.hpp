// Locations of test inputs and small readers shared by the tests. Photos and weights never live in git:
// tests find them through these paths and fail with a message that says what is missing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "facematch/models.hpp"

namespace facematch::testing {

// $FACEMATCH_MODELS, else <source>/models (filled by ./setup.sh or tools/fetch-models.sh).
std::filesystem::path models_dir();
// $FACEMATCH_SHARED, else <source>/../shared (the labelled photos and the reference tool).
std::filesystem::path shared_dir();
// $FACEMATCH_TESTDATA, else <build>/testdata: inputs regenerated from the model package's demo photos
// by tools/golden/make-inputs.sh (jpeg-js-decoded PPMs and the reference tool's net inputs).
std::filesystem::path testdata_dir();
// <source>/tests/golden: committed reference outputs.
std::filesystem::path golden_dir();

// A labelled photo of shared_dir()/faces decoded to RGB (read_image); says where the photos live when
// it is missing.
cv::Mat shared_photo(const std::string& name);

// The models, loaded once per test process.
std::shared_ptr<const Models> shared_models();

// Throws std::runtime_error naming the file (and how to produce it) when it is missing.
void require_file(const std::filesystem::path& path, const std::string& how_to_get_it);
std::vector<float> read_f32(const std::filesystem::path& path);
std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path);
nlohmann::json read_json(const std::filesystem::path& path);
// One JSON value per non-empty line.
std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path);
std::string sha256_hex(const void* data, std::size_t size);

}  // namespace facematch::testing
