#include "cli/common.hpp"

#include <iostream>

#include "facematch/error.hpp"

namespace facematch::cli {

PipelineOptions CommonOptions::pipeline() const {
  PipelineOptions o;
  o.detector.kind = parse_detector(detector);
  o.detector.min_score = min_score;
  o.detector.tiny_input_size = tiny_size;
  o.detector.retry_low_light = retry_low_light;
  if (!(cascade_sure_score >= 0 && cascade_sure_score <= 1))
    throw Error(ErrorCode::invalid_argument, "--cascade-sure-score must be between 0 and 1");
  o.detector.cascade_sure_score = cascade_sure_score;
  if (tile_min_side < 0)
    throw Error(ErrorCode::invalid_argument, "--tile-min-side must be 0 (off) or positive");
  o.detector.tile_min_side = tile_min_side;
  o.detector.border_retry_fraction = border_retry;
  o.detector.cascade_doubt_score = cascade_doubt_score;
  o.align = parse_align(align);
  o.face_policy = parse_face_policy(face_policy);
  if (!(max_megapixels > 0)) throw Error(ErrorCode::invalid_argument, "--max-megapixels must be positive");
  o.limits.max_pixels = static_cast<std::size_t>(max_megapixels * 1e6);
  o.precision = parse_precision(precision);
  o.flip_average = flip_average;
  if (reduced_decode_min_side < 0)
    throw Error(ErrorCode::invalid_argument, "--reduced-decode-min-side must be 0 (off) or positive");
  o.reduced_decode_min_side = reduced_decode_min_side;
  o.require_acceptable_quality = min_quality;
  return o;
}

void add_common(CLI::App& cmd, CommonOptions& o, bool with_align) {
  cmd.add_option("--models", o.models_dir,
                 "Models folder (default: $FACEMATCH_MODELS, then the built-in path)");
  cmd.add_option("--detector", o.detector,
                 "Face detector: cascade (tiny, then SSD when unsure), ssd or tiny (face-api's own)")
      ->capture_default_str();
  add_switch(cmd, "retry-low-light", o.retry_low_light,
             "When a dark photo shows no face, detect again on a brightened, denoised copy");
  cmd.add_option("--tile-min-side", o.tile_min_side,
                 "Also detect on 2x2 tiles of photos at least this many pixels wide or high (0 = off)")
      ->capture_default_str();
  cmd.add_option("--border-retry", o.border_retry,
                 "When a photo shows no face, detect again inside a black border of this fraction of its "
                 "longer side (faces that fill the frame are missed otherwise); 0 = off")
      ->capture_default_str();
  cmd.add_option("--cascade-sure-score", o.cascade_sure_score,
                 "cascade: tiny's faces are kept from this score up; below it SSD decides")
      ->capture_default_str();
  cmd.add_option("--cascade-doubt-score", o.cascade_doubt_score,
                 "cascade: when tiny is sure of some faces and scores another from this up to --min-score, "
                 "SSD looks too and its faces join them (0 = off)")
      ->capture_default_str();
  cmd.add_option("--min-score", o.min_score, "Minimum detector score")->capture_default_str();
  cmd.add_option("--tiny-size", o.tiny_size, "Input size of the tiny detector (multiple of 32)")
      ->capture_default_str();
  cmd.add_option("--max-megapixels", o.max_megapixels, "Refuse larger images")->capture_default_str();
  cmd.add_option("--reduced-decode-min-side", o.reduced_decode_min_side,
                 "Decode JPEGs at 1/2, 1/4 or 1/8 size while the longer side stays at least this (re-decoded "
                 "larger when the face would be smaller than the 150-pixel chip); 0 = full size")
      ->capture_default_str();
  cmd.add_option(
         "--precision", o.precision,
         "Net arithmetic: auto (per net, the fastest its accuracy gate allows, measured on this CPU and "
         "cached; see facematch info), fp32 (exact), bf16 or int8 "
         "(the recognition net in calibrated int8, the others as auto)")
      ->capture_default_str();
  add_switch(cmd, "flip-average", o.flip_average, "Average each descriptor with the mirrored face's");
  if (with_align) {
    cmd.add_option("--align", o.align,
                   "Face alignment: similarity (rotation-corrected), faceapi (face-api's), unsquash "
                   "(similarity after "
                   "undoing a photo resized to a square) or affine")
        ->capture_default_str();
    cmd.add_option("--face-policy", o.face_policy,
                   "Face compared when several are found: best_match (verify: the first photo's largest "
                   "face against every face of the second, the closest answers), largest, best (detector "
                   "score) or error")
        ->capture_default_str();
  }
  cmd.add_flag("--min-quality", o.min_quality,
               "Refuse (exit 2, low_quality) a compared face with any quality reason: too_small, blurred, "
               "profile, tilted, rotated, dark, overexposed, cut_off");
  cmd.add_flag("--json", o.json, "Print JSON");
}

// CLI11 shows a negated flag as `--x,--no-x{false}`; two flags read plainly in --help.
void add_switch(CLI::App& cmd, const std::string& name, bool& value, const std::string& what) {
  cmd.add_flag_callback(
      "--" + name, [&value] { value = true; }, what + (value ? " (default on)" : " (default off)"));
  cmd.add_flag_callback(
      "--no-" + name, [&value] { value = false; }, "Turn --" + name + " off");
}

nlohmann::json error_json(const Error& error) {
  return {{"error", {{"code", to_string(error.code())}, {"message", error.what()}}}};
}

int with_json_errors(bool json, const std::function<int()>& run) {
  try {
    return run();
  } catch (const Error& e) {
    if (json) std::cout << error_json(e).dump(2) << '\n' << std::flush;
    throw;
  }
}

std::shared_ptr<const Models> load_models(const CommonOptions& o) {
  return Models::load(
      locate_models(o.models_dir ? std::optional<std::filesystem::path>(*o.models_dir) : std::nullopt));
}

}  // namespace facematch::cli
