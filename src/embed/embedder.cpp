#include <algorithm>
#include <map>
#include <opencv2/core.hpp>

#include "engine/executor.hpp"
#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "image/face_api_resize.hpp"
#include "models/model_registry.hpp"
#include "models/net_runners.hpp"
#include "models/recognition_net.hpp"

namespace facematch {
namespace {

const InputNormalization& kNormalization = models::model_spec(models::kRecognitionModel).normalization;

constexpr int kSize = models::kRecognitionInputSize;
constexpr std::size_t kInputFloats = static_cast<std::size_t>(kSize) * kSize * 3;

}  // namespace

struct FaceEmbedder::State {
  models::NetRunners runner;
};

FaceEmbedder::FaceEmbedder(std::shared_ptr<const Models> models) {
  if (!models) throw Error(ErrorCode::internal, "FaceEmbedder needs loaded models");
  state_ = std::make_unique<State>(
      State{models::NetRunners(std::move(models), models::kRecognitionModel, [](const Models& m) {
        return models::describe_recognition_net(m.weights(models::kRecognitionModel));
      })});
  state_->runner(1);  // compile now, so a bad model fails here and the first call is not slower
}

FaceEmbedder::~FaceEmbedder() = default;

std::vector<float> FaceEmbedder::run_net(std::span<const float> input) {
  if (input.size() != kInputFloats)
    throw Error(ErrorCode::internal, "recognition net input must be 150x150x3");
  const cv::Mat view(kSize, kSize, CV_32FC3, const_cast<float*>(input.data()));  // read only
  auto& runner = state_->runner(1);
  normalize_hwc(view, kNormalization, runner.input());
  runner.run();
  const auto out = runner.output(0);
  return {out.begin(), out.end()};
}

Embedding FaceEmbedder::embed(const cv::Mat& chip, bool flip_average) {
  return std::move(embed(std::span<const cv::Mat>(&chip, 1), flip_average).front());
}

std::vector<Embedding> FaceEmbedder::embed(std::span<const cv::Mat> chips, bool flip_average) {
  for (const auto& chip : chips)
    if (chip.type() != CV_32FC3 || chip.rows != kSize || chip.cols != kSize)
      throw Error(ErrorCode::internal, "face chip must be 150x150 CV_32FC3");
  // With flip averaging, chip i and its mirror image are items 2i and 2i+1 of the net's batch.
  const std::size_t per_chip = flip_average ? 2 : 1;
  std::vector<cv::Mat> items;
  items.reserve(chips.size() * per_chip);
  for (const auto& chip : chips) {
    items.push_back(chip.isContinuous() ? chip : chip.clone());
    if (flip_average) {
      cv::Mat mirrored;
      cv::flip(chip, mirrored, 1);
      items.push_back(std::move(mirrored));
    }
  }
  std::vector<float> descriptors(items.size() * models::kDescriptorSize);
  const std::size_t step = static_cast<std::size_t>(kMaxBatch) / per_chip * per_chip;
  for (std::size_t first = 0; first < items.size(); first += step) {
    const std::size_t count = std::min(step, items.size() - first);
    auto& runner = state_->runner(static_cast<int>(count));
    const auto input = runner.input();
    for (std::size_t i = 0; i < count; ++i)
      normalize_hwc(items[first + i], kNormalization, input.subspan(i * kInputFloats, kInputFloats));
    runner.run();
    const auto out = runner.output(0);
    std::copy(out.begin(), out.end(),
              descriptors.begin() + static_cast<std::ptrdiff_t>(first * models::kDescriptorSize));
  }
  std::vector<Embedding> embeddings;
  embeddings.reserve(chips.size());
  for (std::size_t c = 0; c < chips.size(); ++c) {
    std::vector<float> values(models::kDescriptorSize, 0.f);
    for (std::size_t k = 0; k < per_chip; ++k) {
      const float* d = descriptors.data() + (c * per_chip + k) * models::kDescriptorSize;
      for (std::size_t j = 0; j < values.size(); ++j) values[j] += d[j];
    }
    if (per_chip > 1)
      for (auto& v : values) v /= static_cast<float>(per_chip);
    embeddings.push_back({std::move(values), kEmbeddingModelId});
  }
  return embeddings;
}

}  // namespace facematch
