#include "facematch/pipeline.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "facematch/embed.hpp"
#include "facematch/error.hpp"

namespace facematch {
namespace {

using json = nlohmann::json;
using Kind = PipelineSetting::Kind;

// A float as the shortest decimal that reads back as the same float: 0.7f is written 0.7, not
// 0.699999988079071, and the round trip through JSON stays exact.
json value_json(float v) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
  return std::strtod(std::string(buffer, end).c_str(), nullptr);
}
json value_json(double v) { return v; }
json value_json(int v) { return v; }
json value_json(std::size_t v) { return v; }
json value_json(bool v) { return v; }

void assign(float& field, const json& v) { field = static_cast<float>(v.get<double>()); }
void assign(double& field, const json& v) { field = v.get<double>(); }
void assign(int& field, const json& v) { field = static_cast<int>(std::llround(v.get<double>())); }
void assign(std::size_t& field, const json& v) {
  field = static_cast<std::size_t>(std::llround(v.get<double>()));
}
void assign(bool& field, const json& v) { field = v.get<bool>(); }

// The accessor pair of a plain field of PipelineOptions.
#define FM_FIELD(member)                                                \
  .get = [](const PipelineOptions& o) { return value_json(o.member); }, \
  .put = [](PipelineOptions& o, const json& v) { assign(o.member, v); }
// The accessor pair of an enum field with to_string and a parser.
#define FM_CHOICE(member, parse)                                                          \
  .get = [](const PipelineOptions& o) { return json(std::string(to_string(o.member))); }, \
  .put = [](PipelineOptions& o, const json& v) { o.member = parse(v.get<std::string>()); }

constexpr double kIntMax = std::numeric_limits<int>::max();

// Help texts are the CLI's; ranges are the stages' own rules (src/detect/detector.cpp, recall.cpp), so
// nothing reaches a stage that it would refuse.
const PipelineSetting kSettings[] = {
    {.name = "detector",
     .kind = Kind::choice,
     .help = "Face detector: cascade (tiny, then SSD when unsure), ssd or tiny (face-api's own)",
     .env = "FACEMATCH_DETECTOR",
     .affects_descriptors = true,
     FM_CHOICE(detector.kind, parse_detector)},
    {.name = "min_score",
     .kind = Kind::number,
     .help = "Minimum detector score",
     .env = "FACEMATCH_MIN_SCORE",
     .affects_descriptors = true,
     .low = 0,
     .high = 1,
     .low_open = true,
     .high_open = true,
     FM_FIELD(detector.min_score)},
    {.name = "max_results",
     .kind = Kind::integer,
     .help = "SSD: most faces kept per photo",
     .affects_descriptors = true,
     .low = 1,
     .high = kIntMax,
     FM_FIELD(detector.max_results)},
    {.name = "tiny_size",
     .kind = Kind::integer,
     .help = "Input size of the tiny detector (multiple of 32)",
     .affects_descriptors = true,
     .low = 32,
     .high = 1024,
     .multiple_of = 32,
     FM_FIELD(detector.tiny_input_size)},
    {.name = "retry_low_light",
     .kind = Kind::boolean,
     .help = "When a dark photo shows no face, detect again on a brightened, denoised copy",
     .affects_descriptors = true,
     FM_FIELD(detector.retry_low_light)},
    {.name = "retry_quarter_turns",
     .kind = Kind::boolean,
     .help = "Stand up faces lying on their side before finding their landmarks, and when a photo shows no "
             "face, detect again on it turned sideways and upside down (photos taken sideways without an "
             "EXIF orientation)",
     .affects_descriptors = true,
     FM_FIELD(detector.retry_quarter_turns)},
    {.name = "retry_min_score",
     .kind = Kind::number,
     .help = "Minimum detector score on the brightened copy of --retry-low-light",
     .affects_descriptors = true,
     .low = 0,
     .high = 1,
     .low_open = true,
     .high_open = true,
     FM_FIELD(detector.retry_min_score)},
    {.name = "fallback_other",
     .kind = Kind::boolean,
     .help = "ssd/tiny: when nothing is found, run the other detector",
     .affects_descriptors = true,
     FM_FIELD(detector.fallback_other)},
    {.name = "tile_min_side",
     .kind = Kind::integer,
     .help = "Also detect on 2x2 tiles of photos at least this many pixels wide or high (0 = off)",
     .affects_descriptors = true,
     .low = 0,
     .high = kIntMax,
     .note = "0 = off",
     FM_FIELD(detector.tile_min_side)},
    {.name = "cascade_sure_score",
     .kind = Kind::number,
     .help = "cascade: tiny's faces are kept from this score up; below it SSD decides",
     .affects_descriptors = true,
     .low = 0,
     .high = 1,
     .low_open = true,
     FM_FIELD(detector.cascade_sure_score)},
    {.name = "cascade_doubt_score",
     .kind = Kind::number,
     .help = "cascade: when tiny is sure of some faces and scores another from this up to --min-score, SSD "
             "looks too and its faces join them (0 = off)",
     .affects_descriptors = true,
     .low = 0,
     .high = 1,
     .high_open = true,
     .note = "0 = off",
     FM_FIELD(detector.cascade_doubt_score)},
    {.name = "border_retry",
     .kind = Kind::number,
     .help = "When a photo shows no face, detect again inside a black border of this fraction of its longer "
             "side (faces that fill the frame are missed otherwise); 0 = off",
     .affects_descriptors = true,
     .low = 0,
     .high = 1,
     .note = "0 = off",
     FM_FIELD(detector.border_retry_fraction)},
    {.name = "align",
     .kind = Kind::choice,
     .help = "Face alignment: similarity (rotation-corrected), faceapi (face-api's), unsquash (similarity "
             "after undoing a photo resized to a square) or affine",
     .env = "FACEMATCH_ALIGN",
     .affects_descriptors = true,
     .compare_only = true,
     FM_CHOICE(align, parse_align)},
    {.name = "face_policy",
     .kind = Kind::choice,
     .help = "Face compared when several are found: best_match (verify: the first photo's largest face "
             "against every face of the second, the closest answers), largest, best (detector score) or "
             "error",
     .env = "FACEMATCH_FACE_POLICY",
     .affects_descriptors = false,
     .compare_only = true,
     FM_CHOICE(face_policy, parse_face_policy)},
    {.name = "precision",
     .kind = Kind::choice,
     .help = "Net arithmetic: auto (per net, the fastest its accuracy gate allows, measured on this CPU and "
             "cached; see facematch info), fp32 (exact), bf16 or int8 (the recognition net in calibrated "
             "int8, the others as auto)",
     .env = "FACEMATCH_PRECISION",
     // Not in the fingerprint: every precision a net may run in passes its accuracy gate against fp32
     // (no verdict changed), and auto itself resolves to different precisions on different CPUs, so a
     // threshold fitted under one holds under the others. The file records the precision as provenance.
     .affects_descriptors = false,
     .per_request = false,
     FM_CHOICE(precision, parse_precision)},
    {.name = "flip_average",
     .kind = Kind::boolean,
     .help = "Average each descriptor with the mirrored face's",
     .affects_descriptors = true,
     FM_FIELD(flip_average)},
    {.name = "reduced_decode_min_side",
     .kind = Kind::integer,
     .help = "Decode JPEGs at 1/2, 1/4 or 1/8 size while the longer side stays at least this (re-decoded "
             "larger when the face would be smaller than the 150-pixel chip); 0 = full size",
     .affects_descriptors = true,
     .per_request = false,
     .low = 0,
     .high = kIntMax,
     .note = "0 = full size",
     FM_FIELD(reduced_decode_min_side)},
    {.name = "max_megapixels",
     .kind = Kind::number,
     .help = "Refuse larger images",
     .env = "FACEMATCH_MAX_MEGAPIXELS",
     .affects_descriptors = false,
     .per_request = false,
     .low = 0,
     .high = 1e6,
     .low_open = true,
     .get = [](const PipelineOptions& o) { return json(static_cast<double>(o.limits.max_pixels) / 1e6); },
     .put =
         [](PipelineOptions& o, const json& v) {
           o.limits.max_pixels = static_cast<std::size_t>(std::llround(v.get<double>() * 1e6));
         }},
    {.name = "max_bytes",
     .kind = Kind::integer,
     .help = "Refuse larger encoded images (bytes)",
     .affects_descriptors = false,
     .per_request = false,
     .cli = false,
     .low = 1,
     .high = 1e15,
     FM_FIELD(limits.max_bytes)},
    {.name = "min_side",
     .kind = Kind::integer,
     .help = "Refuse images narrower or lower than this (pixels)",
     .affects_descriptors = false,
     .per_request = false,
     .cli = false,
     .low = 1,
     .high = kIntMax,
     FM_FIELD(limits.min_side)},
    {.name = "min_quality",
     .kind = Kind::boolean,
     .help = "Refuse (exit 2, low_quality) a compared face with any quality reason: too_small, blurred, "
             "profile, tilted, rotated, dark, overexposed, cut_off",
     .affects_descriptors = false,
     FM_FIELD(require_acceptable_quality)},
};

#undef FM_FIELD
#undef FM_CHOICE

std::string number_text(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10g", v);
  return buffer;
}

std::string names_of_settings() {
  std::string names;
  for (const auto& s : kSettings) names += (names.empty() ? "" : ", ") + std::string(s.name);
  return names;
}

// GCC 12 sees a -Wrestrict overlap in "'" + text + "'" once inlined here (a false positive).
std::string quoted(std::string_view text) {
  std::string q;
  q.reserve(text.size() + 2);
  q.push_back('\'');
  q.append(text);
  q.push_back('\'');
  return q;
}

[[noreturn]] void refuse(const PipelineSetting& s, const std::string& got) {
  throw Error(ErrorCode::invalid_argument,
              std::string(s.name) + " must be " + s.rule() + " (got " + got + ")");
}

}  // namespace

std::string PipelineSetting::flag() const {
  std::string f = "--" + std::string(name);
  for (auto& c : f)
    if (c == '_') c = '-';
  return f;
}

std::string PipelineSetting::rule() const {
  switch (kind) {
    case Kind::boolean:
      return "true or false";
    case Kind::choice:
      return "a name";
    case Kind::number:
    case Kind::integer:
      break;
  }
  std::string r = kind == Kind::integer ? "a whole number " : "";
  const bool bounded_above = kind == Kind::integer ? high < kIntMax : std::isfinite(high);
  if (!low_open && !high_open && bounded_above) {
    r += "from " + number_text(low) + " to " + number_text(high);
  } else {
    r += (low_open ? "above " : "at least ") + number_text(low);
    if (bounded_above) r += std::string(" and ") + (high_open ? "below " : "at most ") + number_text(high);
  }
  if (multiple_of) r += ", a multiple of " + std::to_string(multiple_of);
  if (!note.empty()) r += ", " + std::string(note);
  return r;
}

std::span<const PipelineSetting> pipeline_settings() { return kSettings; }

const PipelineSetting& pipeline_setting(std::string_view name) {
  for (const auto& s : kSettings)
    if (s.name == name) return s;
  throw Error(ErrorCode::invalid_argument,
              "unknown pipeline setting '" + std::string(name) + "' (settings: " + names_of_settings() + ")");
}

void set_pipeline_setting(PipelineOptions& options, const PipelineSetting& s, const json& value) {
  switch (s.kind) {
    case Kind::boolean:
      if (!value.is_boolean()) refuse(s, value.dump());
      break;
    case Kind::choice:
      if (!value.is_string()) refuse(s, value.dump());
      break;
    case Kind::number:
    case Kind::integer: {
      if (!value.is_number()) refuse(s, value.dump());
      const double v = value.get<double>();
      const bool in_range = std::isfinite(v) && (s.low_open ? v > s.low : v >= s.low) &&
                            (s.high_open ? v < s.high : v <= s.high);
      const bool whole = s.kind == Kind::number ||
                         (v == std::floor(v) && (!s.multiple_of || std::fmod(v, s.multiple_of) == 0));
      if (!in_range || !whole) refuse(s, number_text(v));
      break;
    }
  }
  s.put(options, value);
}

void set_pipeline_setting_text(PipelineOptions& options, const PipelineSetting& s, std::string_view text) {
  switch (s.kind) {
    case Kind::boolean:
      if (text != "true" && text != "false") refuse(s, quoted(text));
      return set_pipeline_setting(options, s, text == "true");
    case Kind::choice:
      return set_pipeline_setting(options, s, std::string(text));
    case Kind::number:
    case Kind::integer: {
      double v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size() || text.empty()) refuse(s, quoted(text));
      return set_pipeline_setting(options, s, v);
    }
  }
}

json to_json(const PipelineOptions& options) {
  json j = json::object();
  for (const auto& s : kSettings) j[std::string(s.name)] = s.get(options);
  return j;
}

PipelineOptions pipeline_from_json(const json& j, const PipelineOptions& base) {
  if (!j.is_object())
    throw Error(ErrorCode::invalid_argument, "a pipeline is a JSON object of settings, not " + j.dump());
  PipelineOptions options = base;
  for (const auto& [key, value] : j.items()) set_pipeline_setting(options, pipeline_setting(key), value);
  return options;
}

json descriptor_settings_json(const PipelineOptions& options) {
  json j = {{"model", kEmbeddingModelId}};
  for (const auto& s : kSettings)
    if (s.affects_descriptors) j[std::string(s.name)] = s.get(options);
  return j;
}

std::string pipeline_fingerprint(const PipelineOptions& options) {
  const auto text = descriptor_settings_json(options).dump();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < 8; ++i) {
    hex += "0123456789abcdef"[digest[i] >> 4];
    hex += "0123456789abcdef"[digest[i] & 15];
  }
  return hex;
}

std::vector<std::string> descriptor_differences(const json& fitted, const json& used) {
  std::vector<std::string> out;
  const auto shown = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  for (const auto& s : kSettings) {
    if (!s.affects_descriptors) continue;
    const std::string key(s.name);
    const auto here = used.contains(key) ? used.at(key) : json();
    if (!fitted.contains(key)) {
      out.push_back(key + " not recorded (here " + shown(here) + ")");
      continue;
    }
    const auto& then = fitted.at(key);
    if (then == here) continue;
    std::string use = s.flag() + " " + shown(then);
    if (s.kind == Kind::boolean) use = then.get<bool>() ? s.flag() : "--no-" + s.flag().substr(2);
    out.push_back(key + " " + shown(then) + ", not " + shown(here) + " (use " + use + ")");
  }
  return out;
}

}  // namespace facematch
