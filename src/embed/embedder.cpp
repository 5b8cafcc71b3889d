#include "facematch/embed.hpp"

#include "engine/executor.hpp"
#include "facematch/error.hpp"
#include "image/face_api_resize.hpp"
#include "models/recognition_net.hpp"

namespace facematch {

struct FaceEmbedder::State {
  explicit State(std::shared_ptr<const engine::CompiledNet> net) : runner(std::move(net)) {}
  engine::NetRunner runner;
};

FaceEmbedder::FaceEmbedder(std::shared_ptr<const Models> models) {
  const Models& m = *models;
  auto net = m.compiled(models::kRecognitionModel, 1, [&m] {
    return models::describe_recognition_net(m.weights(models::kRecognitionModel));
  });
  state_ = std::make_unique<State>(std::move(net));
}

FaceEmbedder::~FaceEmbedder() = default;

std::vector<float> FaceEmbedder::run_net(std::span<const float> input) {
  constexpr std::size_t kInputFloats = models::kRecognitionInputSize * models::kRecognitionInputSize * 3;
  if (input.size() != kInputFloats) throw Error(ErrorCode::internal, "recognition net input must be 150x150x3");
  std::vector<float> normalized(input.size());
  for (std::size_t i = 0; i < input.size(); ++i) normalized[i] = (input[i] - kFaceMean[i % 3]) / 255.f;
  state_->runner.run(normalized);
  const auto out = state_->runner.output(0);
  return {out.begin(), out.end()};
}


Embedding FaceEmbedder::embed(const cv::Mat& chip) {
  if (chip.type() != CV_32FC3 || chip.rows != models::kRecognitionInputSize || chip.cols != models::kRecognitionInputSize)
    throw Error(ErrorCode::internal, "face chip must be 150x150 CV_32FC3");
  state_->runner.run(normalize_hwc(chip.isContinuous() ? chip : chip.clone(), kFaceMean, 255.f));
  const auto out = state_->runner.output(0);
  return {std::vector<float>(out.begin(), out.end()), kEmbeddingModelId};
}

}  // namespace facematch
