// Every pretrained model facematch uses, described as data: its files, its input and normalization,
// and the precisions its accuracy gate allows. Adding a model is its net description (models/*_net.cpp),
// the stage that decodes its output, and one entry in kModelRegistry (model_registry.cpp); its files'
// SHA-256 go into tools/face-api-models.sha256, which tools/fetch-models.sh and Models::load both check.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "engine/net.hpp"
#include "facematch/models.hpp"
#include "image/face_api_resize.hpp"

namespace facematch::models {

class WeightMap;

struct ModelSpec {
  std::string_view name;  // NAME-weights_manifest.json and its shards in the models folder
  int input_size;         // square input side; the tiny detector's is its default (any multiple of 32)
  InputNormalization normalization;
  // Precisions beside fp32 this net passed the accuracy gate in (docs/speed.md "Precision, batching and
  // threads"; tests/test_perf.cpp). A precision not allowed here runs the net in fp32, except int8, which
  // falls back to what automatic picks (bf16 where allowed and native).
  bool bf16 = false;
  bool int8 = false;  // also needs ranges in data/int8-ranges.json (tools/calibrate-int8.sh)
  // The net for `input_size`; nets whose input size varies are cached under "name@size" (sized_key).
  engine::NetDescription (*describe)(const WeightMap& weights, int input_size) = nullptr;
  bool sized_key = false;
};

// The compiled-net key of `spec`'s net at its default input size, as its stage names it.
std::string default_net_key(const ModelSpec& spec);

std::span<const ModelSpec> model_registry();
// The spec of `name`, or of the net a compiled-net key names ("tiny_face_detector_model@416");
// Error{model_error} for an unknown model.
const ModelSpec& model_spec(std::string_view name_or_key);

}  // namespace facematch::models
