// Pieces every `facematch` subcommand shares: exit codes, the pipeline options and the command table.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "facematch/error.hpp"
#include "facematch/gallery.hpp"
#include "facematch/verifier.hpp"

namespace facematch::cli {

inline constexpr int kExitSame = 0, kExitDifferent = 1, kExitError = 2;

struct CommonOptions {
  std::optional<std::string> models_dir;
  // Defaults: recommended_pipeline() (include/facematch/verifier.hpp).
  std::string detector{to_string(recommended_pipeline().detector.kind)};
  std::string align{to_string(kDefaultAlignMode)};
  // verify compares the first photo's face with every face of the second (AWS CompareFaces, CompreFace,
  // deepface do the same); commands that analyse one photo at a time read it as largest.
  std::string face_policy{to_string(FacePolicy::best_match)};
  float min_score = 0.5f;
  int tiny_size = 416;
  double max_megapixels = 40;
  std::string precision{to_string(recommended_pipeline().precision)};
  bool flip_average = recommended_pipeline().flip_average;
  bool retry_low_light = recommended_pipeline().detector.retry_low_light;
  int tile_min_side = 0;
  double border_retry = recommended_pipeline().detector.border_retry_fraction;
  float cascade_sure_score = recommended_pipeline().detector.cascade_sure_score;
  float cascade_doubt_score = recommended_pipeline().detector.cascade_doubt_score;
  int reduced_decode_min_side = recommended_pipeline().reduced_decode_min_side;
  bool min_quality = false;
  bool json = false;

  PipelineOptions pipeline() const;
};

// Adds the options above to `cmd`; `with_align` adds --align and --face-policy.
void add_common(CLI::App& cmd, CommonOptions& options, bool with_align);
std::shared_ptr<const Models> load_models(const CommonOptions& options);

// `--NAME` and `--no-NAME` for a boolean that defaults to `value`'s current value.
void add_switch(CLI::App& cmd, const std::string& name, bool& value, const std::string& what);

// Runs a command; with `json`, an Error is also printed on stdout as {"error": {"code", "message"}}
// (JSON consumers read stdout only) before it reaches main's stderr line and exit code 2.
int with_json_errors(bool json, const std::function<int()>& run);
nlohmann::json error_json(const Error& error);

// A subcommand registers itself and the function that runs it once the command line is parsed.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};
using CommandTable = std::vector<Command>;

void add_inspect_commands(CLI::App& app, CommandTable& commands);  // verify, embed, detect
void add_eval_commands(CLI::App& app, CommandTable& commands);     // eval, calibrate
void add_serve_commands(CLI::App& app, CommandTable& commands);    // serve
void add_gallery_commands(CLI::App& app, CommandTable& commands);  // gallery add|list|show|remove, identify
void add_info_commands(CLI::App& app, CommandTable& commands);     // info

// --gallery PATH|URI (env FACEMATCH_GALLERY, default kDefaultGalleryLocation in the working directory).
void add_gallery_option(CLI::App& cmd, std::string& location);
// verify PHOTO --subject S: exit 0 same person, 1 not. `threshold` empty: the operating point's.
int run_verify_subject(const CommonOptions& o, const std::string& gallery, const std::string& photo,
                       const std::string& subject, std::optional<double> threshold,
                       const std::optional<std::string>& operating_point);

}  // namespace facematch::cli
