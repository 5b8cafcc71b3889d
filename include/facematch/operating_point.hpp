// Operating points: thresholds tied to error rates measured on labelled pairs (`facematch calibrate`),
// saved as a small JSON file that `verify --operating-point` and the server load.
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "facematch/verifier.hpp"

namespace facematch {

struct OperatingPoint {
  std::string name;  // "far1e-3" (see operating_point_name) or "best-accuracy"
  double threshold = kDefaultThreshold;
  std::optional<double> target_far;  // empty for "best-accuracy"
  // Measured on the calibration pairs at `threshold`.
  double tar = 0, far = 0;
  std::size_t true_accepts = 0, genuine = 0, false_accepts = 0, impostors = 0;
};

struct OperatingPoints {
  std::vector<OperatingPoint> points;
  std::string default_point;  // name of the point used when a file is given without a name
  // The distances the thresholds hold for: descriptors of this model, faces of this detector, chips of
  // this alignment (kept for readers of the first files, which recorded nothing else).
  std::string model, detector, align;
  // The whole pipeline the points were fitted under (to_json(PipelineOptions), pipeline.hpp) and its
  // pipeline_fingerprint; both empty in files written before they were recorded.
  nlohmann::json pipeline;
  std::string fingerprint;
  nlohmann::json provenance;  // data (csv, sha256, pair counts), figures, tool, date
  std::string origin;         // the file it was read from, or "built-in"

  // Error{invalid_argument} naming the available points when `name` is unknown.
  const OperatingPoint& get(std::string_view name) const;
  double threshold_for(std::string_view name) const { return get(name).threshold; }
  // Error{invalid_argument} when `options` give distances these thresholds were not fitted on: another
  // fingerprint, naming every descriptor setting that differs and the flag that restores it. Files
  // without a recorded pipeline are checked on what they recorded: model, detector, align and
  // flip averaging.
  void check_pipeline(const PipelineOptions& options) const;
  // True when check_pipeline would pass.
  bool fits(const PipelineOptions& options) const;
};

// "far1e-3" for 0.001, "far2.5e-4" for 0.00025.
std::string operating_point_name(double target_far);

nlohmann::json to_json(const OperatingPoints& points);
// Error{invalid_argument} naming `origin` when the JSON is not an operating-point file.
OperatingPoints operating_points_from_json(const nlohmann::json& j, const std::string& origin);
OperatingPoints load_operating_points(const std::filesystem::path& path);
void save_operating_points(const OperatingPoints& points, const std::filesystem::path& path);

// data/operating-points.json of the source tree, built into the library: fitted with `tools/calibrate.sh`
// on ../shared/calibration for the default pipeline.
const OperatingPoints& builtin_operating_points();

// The point a user names: "NAME" (a built-in point), "FILE" (that file's default point) or
// "FILE:NAME". Checks that `options` match the pipeline the point was fitted for.
struct ResolvedOperatingPoint {
  OperatingPoint point;
  std::string origin;  // file path or "built-in"
};
ResolvedOperatingPoint resolve_operating_point(std::string_view spec, const PipelineOptions& options);

// Lowercase hex SHA-256 of a file's bytes (records which pairs a calibration came from).
std::string file_sha256_hex(const std::filesystem::path& path);

}  // namespace facematch
