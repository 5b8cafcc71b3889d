// face-api's tiny face detector: a Tiny YOLOv2 variant with separable convolutions
// ("tiny_face_detector_model").
#pragma once

#include <array>

#include "engine/net.hpp"
#include "models/weights.hpp"

namespace facematch::models {

inline constexpr const char* kTinyFaceDetectorModel = "tiny_face_detector_model";
// TinyFaceDetector MEAN_RGB (src/tinyFaceDetector/const.ts); the input is (x - mean) / 255.
inline constexpr std::array<float, 3> kTinyFaceDetectorMean = {117.001f, 114.697f, 97.404f};
inline constexpr int kTinyAnchorCount = 5;
inline constexpr int kTinyBoxEncoding = 5;  // tx, ty, tw, th, conf

// Input: input_size x input_size x 3 (a multiple of 32), normalized as above. Output "grid":
// (input_size/32)^2 cells x 5 anchors x 5 encodings, before any sigmoid or exp.
engine::NetDescription describe_tiny_face_detector(const WeightMap& weights, int input_size);

}  // namespace facematch::models
