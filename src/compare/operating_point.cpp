#include "facematch/operating_point.hpp"

#include <openssl/evp.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/pipeline.hpp"

namespace facematch {

namespace {

constexpr const char* kFormat = "facematch-operating-points";
constexpr int kVersion = 1;

constexpr const char* kBuiltinOrigin = "built-in";

constexpr const char* kBuiltinJson =
#include "operating-points.json.inc"
    ;

std::string describe(const OperatingPoints& points) {
  return points.origin == kBuiltinOrigin ? "the built-in operating points"
                                         : "the operating points of " + points.origin;
}

nlohmann::json point_json(const OperatingPoint& p) {
  nlohmann::json j = {{"name", p.name},
                      {"threshold", p.threshold},
                      {"tar", p.tar},
                      {"far", p.far},
                      {"true_accepts", p.true_accepts},
                      {"genuine", p.genuine},
                      {"false_accepts", p.false_accepts},
                      {"impostors", p.impostors}};
  if (p.target_far) j["target_far"] = *p.target_far;
  return j;
}

}  // namespace

const OperatingPoint& OperatingPoints::get(std::string_view name) const {
  for (const auto& p : points)
    if (p.name == name) return p;
  std::string names;
  for (const auto& p : points) names += (names.empty() ? "" : ", ") + p.name;
  throw Error(ErrorCode::invalid_argument, "no operating point '" + std::string(name) + "' in " +
                                               describe(*this) +
                                               " (there are: " + (names.empty() ? "none" : names) + ")");
}

void OperatingPoints::check_pipeline(const PipelineOptions& options) const {
  if (model != kEmbeddingModelId)
    throw Error(ErrorCode::invalid_argument,
                describe(*this) + " are for descriptors of " + model + ", not " + kEmbeddingModelId);
  if (!fingerprint.empty()) {
    const auto here = pipeline_fingerprint(options);
    if (here == fingerprint) return;
    std::string differences;
    for (const auto& d : descriptor_differences(pipeline, to_json(options)))
      differences += (differences.empty() ? "" : "; ") + d;
    throw Error(ErrorCode::invalid_argument, describe(*this) + " were fitted under pipeline " + fingerprint +
                                                 ", not " + here + ": " + differences +
                                                 " (or calibrate again)");
  }
  // The first files recorded the detector and alignment, and flip averaging in their provenance (files
  // older still were fitted without it).
  const auto mismatch = [&](const char* what, const std::string& fitted, std::string_view used) {
    if (fitted != used)
      throw Error(ErrorCode::invalid_argument, describe(*this) + " were fitted with " + what + " " + fitted +
                                                   ", not " + std::string(used) + " (use --" + what + " " +
                                                   fitted + " or calibrate again)");
  };
  mismatch("detector", detector, to_string(options.detector.kind));
  mismatch("align", align, to_string(options.align));
  const auto& recorded = provenance.contains("pipeline") ? provenance["pipeline"] : nlohmann::json::object();
  const bool fitted_flip = recorded.value("flip_average", false);
  if (fitted_flip != options.flip_average)
    throw Error(ErrorCode::invalid_argument,
                describe(*this) + " were fitted " + (fitted_flip ? "with" : "without") +
                    " flip averaging (use " + (fitted_flip ? "--flip-average" : "--no-flip-average") +
                    " or calibrate again)");
}

bool OperatingPoints::fits(const PipelineOptions& options) const {
  try {
    check_pipeline(options);
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::string operating_point_name(double target_far) {
  if (!(target_far > 0 && target_far < 1))
    throw Error(ErrorCode::invalid_argument, "a target FAR must be between 0 and 1");
  int exponent = static_cast<int>(std::floor(std::log10(target_far)));
  double mantissa = target_far / std::pow(10.0, exponent);
  if (mantissa >= 9.995) {  // 0.00999999 is 1e-2, not 10e-3
    mantissa /= 10;
    ++exponent;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "far%.3ge%d", mantissa, exponent);
  return buffer;
}

nlohmann::json to_json(const OperatingPoints& points) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : points.points) list.push_back(point_json(p));
  nlohmann::json j = {{"format", kFormat},
                      {"version", kVersion},
                      {"model", points.model},
                      {"detector", points.detector},
                      {"align", points.align},
                      {"default", points.default_point},
                      {"operating_points", std::move(list)},
                      {"provenance", points.provenance}};
  if (!points.fingerprint.empty()) {
    j["pipeline"] = points.pipeline;
    j["fingerprint"] = points.fingerprint;
  }
  return j;
}

OperatingPoints operating_points_from_json(const nlohmann::json& j, const std::string& origin) {
  const auto bad = [&](const std::string& why) {
    return Error(ErrorCode::invalid_argument, origin + " is not a facematch operating-point file: " + why);
  };
  if (!j.is_object() || j.value("format", "") != kFormat)
    throw bad("no \"format\": \"" + std::string(kFormat) + "\"");
  if (j.value("version", 0) != kVersion)
    throw bad("version " + j.value("version", nlohmann::json()).dump() + " (expected 1)");
  OperatingPoints points;
  points.origin = origin;
  try {
    points.model = j.at("model").get<std::string>();
    points.detector = j.at("detector").get<std::string>();
    points.align = j.at("align").get<std::string>();
    points.default_point = j.at("default").get<std::string>();
    points.provenance = j.value("provenance", nlohmann::json::object());
    if (j.contains("pipeline") != j.contains("fingerprint"))
      throw bad("\"pipeline\" and \"fingerprint\" come together");
    if (j.contains("pipeline")) {
      points.pipeline = j.at("pipeline");
      points.fingerprint = j.at("fingerprint").get<std::string>();
      // Recomputed from the recorded settings: an edited file, or one fitted for another model, would
      // otherwise pass the check with thresholds that do not hold.
      const auto recomputed = [&] {
        try {
          return pipeline_fingerprint(pipeline_from_json(points.pipeline));
        } catch (const Error& e) {
          throw bad(std::string("its pipeline: ") + e.what());
        }
      }();
      if (recomputed != points.fingerprint)
        throw bad("its fingerprint " + points.fingerprint + " is not that of its pipeline and model (" +
                  recomputed + ")");
    }
    for (const auto& p : j.at("operating_points")) {
      OperatingPoint point;
      point.name = p.at("name").get<std::string>();
      point.threshold = p.at("threshold").get<double>();
      if (p.contains("target_far")) point.target_far = p.at("target_far").get<double>();
      point.tar = p.value("tar", 0.0);
      point.far = p.value("far", 0.0);
      point.true_accepts = p.value("true_accepts", std::size_t{0});
      point.genuine = p.value("genuine", std::size_t{0});
      point.false_accepts = p.value("false_accepts", std::size_t{0});
      point.impostors = p.value("impostors", std::size_t{0});
      if (!(point.threshold > 0))
        throw bad("operating point " + point.name + " has threshold " + p.at("threshold").dump());
      points.points.push_back(std::move(point));
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad(e.what());
  }
  points.get(points.default_point);  // the default must exist
  return points;
}

OperatingPoints load_operating_points(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::io_error, "cannot read operating-point file " + path.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::invalid_argument, path.string() + " is not valid JSON: " + e.what());
  }
  return operating_points_from_json(j, path.string());
}

void save_operating_points(const OperatingPoints& points, const std::filesystem::path& path) {
  std::ofstream out(path);
  out << to_json(points).dump(2) << '\n';
  if (!out) throw Error(ErrorCode::io_error, "cannot write " + path.string());
}

const OperatingPoints& builtin_operating_points() {
  static const OperatingPoints points =
      operating_points_from_json(nlohmann::json::parse(kBuiltinJson), kBuiltinOrigin);
  return points;
}

ResolvedOperatingPoint resolve_operating_point(std::string_view spec, const PipelineOptions& options) {
  const std::string text(spec);
  const auto from_file = [&](const std::filesystem::path& file, const std::optional<std::string>& name) {
    const auto points = load_operating_points(file);
    points.check_pipeline(options);
    return ResolvedOperatingPoint{points.get(name.value_or(points.default_point)), points.origin};
  };
  if (std::filesystem::is_regular_file(text)) return from_file(text, std::nullopt);
  if (const auto colon = text.rfind(':');
      colon != std::string::npos && std::filesystem::is_regular_file(text.substr(0, colon)))
    return from_file(text.substr(0, colon), text.substr(colon + 1));
  if (text.find('/') != std::string::npos || text.ends_with(".json"))
    throw Error(ErrorCode::io_error, "operating-point file " + text + " not found");
  const auto& points = builtin_operating_points();
  points.check_pipeline(options);
  return {points.get(text), points.origin};
}

std::string file_sha256_hex(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::io_error, "cannot read " + path.string());
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += "0123456789abcdef"[digest[i] >> 4];
    hex += "0123456789abcdef"[digest[i] & 15];
  }
  return hex;
}

}  // namespace facematch
