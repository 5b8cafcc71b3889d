// SsdFaceDetector's steps around its net, for tools that run the net themselves (another compiled
// variant of it, as bench/precision_study does): what the net sees, its outputs, and the faces they give.
#pragma once

#include <opencv2/core.hpp>
#include <span>
#include <vector>

#include "engine/executor.hpp"
#include "facematch/detect.hpp"

namespace facematch {

// `rgb` (CV_8UC3) padded to a square at the bottom/right, resized to 512 and normalized as x / 127.5 - 1
// into `input` (512x512x3 floats).
void ssd_net_input(const cv::Mat& rgb, std::span<float> input);
// The predictors' outputs of the runner's last run, concatenated in face-api's anchor order.
SsdFaceDetector::RawOutput ssd_outputs(const engine::NetRunner& runner);
// The anchors decoded, face-api's non-max suppression, boxes in the pixels of an `image`-sized photo.
std::vector<Detection> ssd_detections(const SsdFaceDetector::RawOutput& raw, std::span<const float> anchors,
                                      cv::Size image, float min_score, int max_results);

}  // namespace facematch
