// face-api's 68-point landmark net, the full model ("face_landmark_68_model"): FaceFeatureExtractor
// (four dense blocks) + average pool + fully connected layer.
#pragma once

#include "engine/net.hpp"
#include "models/weights.hpp"

namespace facematch::models {

inline constexpr const char* kLandmark68Model = "face_landmark_68_model";
inline constexpr int kLandmarkInputSize = 112;
inline constexpr int kLandmarkOutputs = 136;
// Input: 112x112x3 RGB normalized as (x - kFaceMean) / 255 (image/face_api_resize.hpp). Output "landmarks": 1x1x136, x and y
// interleaved, relative to the 112 square.
engine::NetDescription describe_landmark68_net(const WeightMap& weights);

}  // namespace facematch::models
