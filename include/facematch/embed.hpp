// Stage 5: 128-D face descriptor from an aligned chip (face-api's face recognition net). One per thread.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <span>
#include <vector>

#include "facematch/face.hpp"
#include "facematch/models.hpp"

namespace facematch {

// Descriptors are tagged with this id; only descriptors with the same id can be compared.
inline constexpr const char* kEmbeddingModelId = "face-api-1.7.15/face_recognition_model";

class FaceEmbedder {
 public:
  // The net runs in `models`' precision (Models::with_precision).
  explicit FaceEmbedder(std::shared_ptr<const Models> models);
  ~FaceEmbedder();

  // `chip` is 150x150 CV_32FC3 RGB on the 0..255 scale (see extract_chip). The descriptor is not
  // L2-normalized (face-api's is not either; norms are about 1.4).
  // flip_average: also embed the mirrored chip and return the mean of the two descriptors (one
  // batch of two; see docs/accuracy.md for what it gains and costs).
  Embedding embed(const cv::Mat& chip, bool flip_average = false);
  // Several chips through the net as one batch (up to kMaxBatch at a time), in order; each equals
  // embed() of that chip alone.
  std::vector<Embedding> embed(std::span<const cv::Mat> chips, bool flip_average = false);
  static constexpr int kMaxBatch = 8;

  // The net alone on a raw 150x150x3 RGB 0..255 buffer (the reference tool's --crop150 input).
  std::vector<float> run_net(std::span<const float> input);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace facematch
