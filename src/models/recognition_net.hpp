// face-api's face recognition net: dlib's ResNet-34-like 128-D face descriptor ("face_recognition_model").
#pragma once

#include "engine/net.hpp"
#include "models/weights.hpp"

namespace facematch::models {

inline constexpr const char* kRecognitionModel = "face_recognition_model";
inline constexpr int kRecognitionInputSize = 150;
inline constexpr int kDescriptorSize = 128;

// Input: 150x150x3 RGB normalized as (x - kFaceMean) / 255. Output "descriptor": 1x1x128.
engine::NetDescription describe_recognition_net(const WeightMap& weights);

}  // namespace facematch::models
