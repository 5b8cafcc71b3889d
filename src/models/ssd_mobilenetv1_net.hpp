// face-api's SSD MobileNetV1 face detector ("ssd_mobilenetv1_model").
#pragma once

#include "engine/net.hpp"
#include "models/weights.hpp"

namespace facematch::models {

inline constexpr const char* kSsdModel = "ssd_mobilenetv1_model";
inline constexpr int kSsdInputSize = 512;
inline constexpr int kSsdAnchors = 5118;
inline constexpr int kSsdPredictors = 6;
// The float32 anchors [1, 5118, 4] = (ymin, xmin, ymax, xmax), normalized to the padded square.
inline constexpr const char* kSsdAnchorsTensor = "Output/extra_dim";

// Input: 512x512x3 RGB normalized as x / 127.5 - 1. Outputs, for predictor i = 0..5 in that order:
// "box_encodings_<i>" (H x W x anchors*4) then "class_logits_<i>" (H x W x anchors*3), on feature maps of
// 32, 16, 8, 4, 2 and 1 cells with 3, 6, 6, 6, 6, 6 anchors per cell. Flattened NHWC and concatenated
// over the predictors they are face-api's [5118][4] and [5118][3] in its anchor order.
engine::NetDescription describe_ssd_mobilenetv1(const WeightMap& weights);

}  // namespace facematch::models
