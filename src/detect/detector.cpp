#include "facematch/detect.hpp"
#include "facematch/error.hpp"

namespace facematch {

std::string_view to_string(DetectorKind kind) {
  switch (kind) {
    case DetectorKind::ssd:
      return "ssd";
    case DetectorKind::tiny:
      return "tiny";
    case DetectorKind::cascade:
      return "cascade";
  }
  return "unknown";
}

DetectorKind parse_detector(std::string_view name) {
  if (name == "ssd") return DetectorKind::ssd;
  if (name == "tiny") return DetectorKind::tiny;
  if (name == "cascade") return DetectorKind::cascade;
  throw Error(ErrorCode::invalid_argument,
              "unknown detector '" + std::string(name) + "' (use ssd, tiny or cascade)");
}

std::unique_ptr<FaceDetector> make_detector(std::shared_ptr<const Models> models,
                                            const DetectorOptions& options) {
  if (options.min_score <= 0.f || options.min_score >= 1.f)
    throw Error(ErrorCode::invalid_argument, "detector min_score must be between 0 and 1");
  // Options of a detector that will not run are not checked, as before the cascade existed.
  const bool fallback = options.fallback_other || options.kind == DetectorKind::cascade;
  if ((options.kind == DetectorKind::ssd || fallback) && options.max_results < 1)
    throw Error(ErrorCode::invalid_argument, "max_results must be at least 1");
  if ((options.kind == DetectorKind::tiny || fallback) &&
      (options.tiny_input_size < 32 || options.tiny_input_size > 1024 || options.tiny_input_size % 32 != 0))
    throw Error(ErrorCode::invalid_argument,
                "tiny detector input size must be a multiple of 32 from 32 to 1024");
  // Plain ssd/tiny stay face-api's own detectors, untouched by the recall extensions.
  const bool extended = options.kind == DetectorKind::cascade || options.retry_low_light ||
                        options.fallback_other || options.tile_min_side != 0 ||
                        options.border_retry_fraction > 0;
  if (extended) return std::make_unique<RecallFaceDetector>(std::move(models), options);
  if (options.kind == DetectorKind::ssd)
    return std::make_unique<SsdFaceDetector>(std::move(models), options.min_score, options.max_results);
  return std::make_unique<TinyFaceDetector>(std::move(models), options.tiny_input_size, options.min_score);
}

}  // namespace facematch
