#include "facematch/detect.hpp"
#include "facematch/error.hpp"
#include "models/ssd_mobilenetv1_net.hpp"
#include "models/tiny_face_detector_net.hpp"

namespace facematch {

namespace {

std::unique_ptr<FaceDetector> make_ssd(std::shared_ptr<const Models> models, const DetectorOptions& options) {
  return std::make_unique<SsdFaceDetector>(std::move(models), options.min_score, options.max_results);
}
std::unique_ptr<FaceDetector> make_tiny(std::shared_ptr<const Models> models,
                                        const DetectorOptions& options) {
  return std::make_unique<TinyFaceDetector>(std::move(models), options.tiny_input_size, options.min_score);
}

// The cascade's stages, cheapest first (RecallFaceDetector): tiny is about 3x quicker than SSD, and sure
// of most photos' faces.
constexpr DetectorKind kCascadeStages[] = {DetectorKind::tiny, DetectorKind::ssd};

constexpr DetectorSpec kDetectorRegistry[] = {
    {DetectorKind::ssd, "ssd", models::kSsdModel, make_ssd, {}},
    {DetectorKind::tiny, "tiny", models::kTinyFaceDetectorModel, make_tiny, {}},
    {DetectorKind::cascade, "cascade", {}, nullptr, kCascadeStages},
};

}  // namespace

std::span<const DetectorSpec> detector_registry() { return kDetectorRegistry; }

const DetectorSpec& detector_spec(DetectorKind kind) {
  for (const auto& spec : kDetectorRegistry)
    if (spec.kind == kind) return spec;
  throw Error(ErrorCode::internal, "detector kind without a registry entry");
}

std::string_view to_string(DetectorKind kind) { return detector_spec(kind).name; }

DetectorKind parse_detector(std::string_view name) {
  std::string known;
  for (const auto& spec : kDetectorRegistry) {
    if (spec.name == name) return spec.kind;
    known += known.empty() ? "" : ", ";
    known += spec.name;
  }
  throw Error(ErrorCode::invalid_argument,
              "unknown detector '" + std::string(name) + "' (use " + known + ")");
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
                        options.border_retry_fraction > 0 || options.retry_quarter_turns;
  if (extended) return std::make_unique<RecallFaceDetector>(std::move(models), options);
  return detector_spec(options.kind).make(std::move(models), options);
}

}  // namespace facematch
