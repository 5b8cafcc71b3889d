// Pieces every `facematch` subcommand shares: exit codes, the pipeline options and the command table.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
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
  // This command's pipeline unless flags say otherwise: recommended_pipeline() (verifier.hpp), with
  // verify's face policy: the first photo's face against every face of the second (AWS CompareFaces,
  // CompreFace, deepface do the same); commands that analyse one photo at a time read it as largest.
  // A command changes it before add_common, which shows it as the flags' defaults.
  PipelineOptions defaults = [] {
    auto o = recommended_pipeline();
    o.face_policy = FacePolicy::best_match;
    return o;
  }();
  // The text of every pipeline flag given (or its environment twin), by setting name (pipeline.hpp).
  std::map<std::string, std::string, std::less<>> given;
  bool json = false;

  // `defaults` with the given flags applied, each checked by its setting's rule.
  PipelineOptions pipeline() const;
};

// Adds a flag for every pipeline setting (pipeline_settings()) and --models, --json to `cmd`;
// `with_align` adds the compare-only ones (--align, --face-policy); `with_env` gives the settings their
// FACEMATCH_* environment twins (serve).
void add_common(CLI::App& cmd, CommonOptions& options, bool with_align, bool with_env = false);
std::shared_ptr<const Models> load_models(const CommonOptions& options);

// `--NAME` and `--no-NAME` for a boolean, calling `set` with the value chosen.
void add_switch(CLI::App& cmd, const std::string& name, const std::string& what, bool default_on,
                const std::function<void(bool)>& set);

// Runs a command; with `json`, an Error is also printed on stdout as report::error_json gives it
// ({"error": {"code", "message", "image"?}}: JSON consumers read stdout only) before it reaches main's
// stderr line and exit code 2.
int with_json_errors(bool json, const std::function<int()>& run);

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
