#include "facematch/detect.hpp"
#include "facematch/error.hpp"

namespace facematch {

std::string_view to_string(DetectorKind kind) { return kind == DetectorKind::ssd ? "ssd" : "tiny"; }

DetectorKind parse_detector(std::string_view name) {
  if (name == "ssd") return DetectorKind::ssd;
  if (name == "tiny") return DetectorKind::tiny;
  throw Error(ErrorCode::invalid_argument, "unknown detector '" + std::string(name) + "' (use ssd or tiny)");
}

std::unique_ptr<FaceDetector> make_detector(std::shared_ptr<const Models> models, const DetectorOptions& options) {
  if (options.min_score <= 0.f || options.min_score >= 1.f)
    throw Error(ErrorCode::invalid_argument, "detector min_score must be between 0 and 1");
  if (options.kind == DetectorKind::ssd) {
    if (options.max_results < 1) throw Error(ErrorCode::invalid_argument, "max_results must be at least 1");
    return std::make_unique<SsdFaceDetector>(std::move(models), options.min_score, options.max_results);
  }
  if (options.tiny_input_size < 32 || options.tiny_input_size > 1024 || options.tiny_input_size % 32 != 0)
    throw Error(ErrorCode::invalid_argument, "tiny detector input size must be a multiple of 32 from 32 to 1024");
  return std::make_unique<TinyFaceDetector>(std::move(models), options.tiny_input_size, options.min_score);
}

}  // namespace facematch
