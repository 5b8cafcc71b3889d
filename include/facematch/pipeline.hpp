// The pipeline's settings as data: one table names every field of PipelineOptions once, with its type,
// valid values and whether it changes descriptors. The CLI's flags, the HTTP request fields, their
// checks, to_json/pipeline_from_json and the fingerprint that operating points are tied to all come
// from it, so a new setting is one entry in src/pipeline.cpp.
#pragma once

#include <limits>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "facematch/verifier.hpp"

namespace facematch {

// One entry of the table in src/pipeline.cpp. Entries name only what differs from the defaults below,
// except affects_descriptors, which every entry states.
struct PipelineSetting {
  enum class Kind { choice, number, integer, boolean };

  // The JSON key and HTTP field; the CLI flag is "--" + name with '_' as '-'.
  std::string_view name;
  Kind kind;
  std::string_view help;
  // The environment twin of the flag under `facematch serve`, empty when there is none.
  std::string_view env = "";
  // Descriptors or distances change with it, so thresholds fitted under one value do not hold under
  // another: it takes part in the fingerprint. The others decide what is refused or which face is
  // compared (limits, face_policy, min_quality), not the distance between two given faces; precision
  // neither, since each precision passes an accuracy gate against fp32.
  bool affects_descriptors;
  // A request to the service may set it; the others (limits, precision, reduced decoding) are the
  // server's.
  bool per_request = true;
  // Offered as a CLI flag (the decode byte and side limits are the embedding program's business).
  bool cli = true;
  // Only commands that compare faces offer it (--align, --face-policy).
  bool compare_only = false;
  // number/integer: the valid range; below/above `low`/`high` (or at them when `*_open`) is refused.
  double low = -std::numeric_limits<double>::infinity(), high = std::numeric_limits<double>::infinity();
  bool low_open = false, high_open = false;
  int multiple_of = 0;         // integer: also a multiple of this (0 = any)
  std::string_view note = "";  // appended to the rule, e.g. "0 = off"

  // The current value of this setting in `options`, as to_json writes it.
  nlohmann::json (*get)(const PipelineOptions& options);
  // Sets a value already checked by set_pipeline_setting (choices are parsed here).
  void (*put)(PipelineOptions& options, const nlohmann::json& value);

  std::string flag() const;
  // "above 0 and at most 1", "a whole number from 32 to 1024, a multiple of 32", "true or false"; a
  // choice's names are its parser's to state ("a name").
  std::string rule() const;
};

// Every setting, in the order to_json and --help list them.
std::span<const PipelineSetting> pipeline_settings();
// Error{invalid_argument} "unknown pipeline setting 'x' (settings: ...)" when there is none.
const PipelineSetting& pipeline_setting(std::string_view name);

// Checks `value` against the setting's type and rule and stores it in `options`. Every entry point
// (CLI flags, HTTP fields, pipeline files) goes through here, so a value is refused with the same
// message everywhere: Error{invalid_argument} "cascade_sure_score must be above 0 and at most 1 (got 0)".
void set_pipeline_setting(PipelineOptions& options, const PipelineSetting& setting,
                          const nlohmann::json& value);
// The same for a value written as text (a CLI argument, a form field): numbers in full ("0.5x" is
// refused), booleans as true/false, choices as their names.
void set_pipeline_setting_text(PipelineOptions& options, const PipelineSetting& setting,
                               std::string_view text);

// Every setting, by name; pipeline_from_json(to_json(o)) == o field by field.
nlohmann::json to_json(const PipelineOptions& options);
// Settings absent from `j` keep `base`'s values; an unknown key is Error{invalid_argument} naming it.
PipelineOptions pipeline_from_json(const nlohmann::json& j,
                                   const PipelineOptions& base = recommended_pipeline());

// The settings that take part in the fingerprint plus the model id, canonical (sorted keys).
nlohmann::json descriptor_settings_json(const PipelineOptions& options);
// 16 hex digits of the SHA-256 of descriptor_settings_json's compact dump: equal for two pipelines
// exactly when their descriptors (hence distances and thresholds) are the same.
std::string pipeline_fingerprint(const PipelineOptions& options);

// The descriptor-affecting settings whose values differ between two pipelines JSONs (to_json), as
// "align similarity, not faceapi" lines, empty when none do.
std::vector<std::string> descriptor_differences(const nlohmann::json& fitted, const nlohmann::json& used);

}  // namespace facematch
