// `facematch`: the command-line edge. Maps facematch::Error to exit codes: verify answers 0 (same
// person) or 1 (different); every error is 2 with one line on stderr.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "facematch/embed.hpp"
#include "facematch/evaluate.hpp"
#include "facematch/error.hpp"
#include "facematch/verifier.hpp"
#include "report/json_report.hpp"

namespace {

using namespace facematch;

constexpr int kExitSame = 0, kExitDifferent = 1, kExitError = 2;

struct CommonOptions {
  std::optional<std::string> models_dir;
  std::string detector = "ssd";
  std::string align{to_string(kDefaultAlignMode)};
  std::string face_policy = "largest";
  float min_score = 0.5f;
  int tiny_size = 416;
  double max_megapixels = 40;
  bool json = false;

  PipelineOptions pipeline() const {
    PipelineOptions o;
    o.detector.kind = parse_detector(detector);
    o.detector.min_score = min_score;
    o.detector.tiny_input_size = tiny_size;
    o.align = parse_align(align);
    o.face_policy = parse_face_policy(face_policy);
    if (!(max_megapixels > 0)) throw Error(ErrorCode::invalid_argument, "--max-megapixels must be positive");
    o.limits.max_pixels = static_cast<std::size_t>(max_megapixels * 1e6);
    return o;
  }
};

void add_common(CLI::App& cmd, CommonOptions& o, bool with_align) {
  cmd.add_option("--models", o.models_dir, "Models folder (default: $FACEMATCH_MODELS, then the built-in path)");
  cmd.add_option("--detector", o.detector, "Face detector: ssd (accurate) or tiny (fast)")->capture_default_str();
  cmd.add_option("--min-score", o.min_score, "Minimum detector score")->capture_default_str();
  cmd.add_option("--tiny-size", o.tiny_size, "Input size of the tiny detector (multiple of 32)")->capture_default_str();
  cmd.add_option("--max-megapixels", o.max_megapixels, "Refuse larger images")->capture_default_str();
  if (with_align) {
    cmd.add_option("--align", o.align, "Face alignment: similarity (rotation-corrected) or faceapi (face-api's)")
        ->capture_default_str();
    cmd.add_option("--face-policy", o.face_policy, "Face compared when several are found: largest, best or error")
        ->capture_default_str();
  }
  cmd.add_flag("--json", o.json, "Print JSON");
}

std::shared_ptr<const Models> load_models(const CommonOptions& o) {
  return Models::load(locate_models(o.models_dir ? std::optional<std::filesystem::path>(*o.models_dir) : std::nullopt));
}

int run_verify(const CommonOptions& o, const std::string& a, const std::string& b, double threshold) {
  const auto options = o.pipeline();
  Verifier verifier(load_models(o), 1);
  const auto v = verifier.verify_files(a, b, options, threshold);
  if (o.json) {
    auto j = report::verification_json(v);
    j["img1"]["path"] = a;
    j["img2"]["path"] = b;
    std::cout << j.dump(2) << '\n';
  } else {
    std::printf("%s  distance %.4f %s threshold %.2f  (%s, %s alignment, %.0f ms)\n", v.verified ? "Yes" : "No",
                v.distance, v.verified ? "<" : ">=", v.threshold, std::string(to_string(v.detector)).c_str(),
                std::string(to_string(v.align)).c_str(), v.total_ms);
  }
  return v.verified ? kExitSame : kExitDifferent;
}

int run_embed(const CommonOptions& o, const std::vector<std::string>& images) {
  const auto options = o.pipeline();
  Verifier verifier(load_models(o), 1);
  for (const auto& path : images) {
    const auto analysis = verifier.analyze_file(path, options, /*embed_all_faces=*/true);
    nlohmann::json faces = nlohmann::json::array();
    for (std::size_t i = 0; i < analysis.faces.size(); ++i) {
      auto f = report::face_json(analysis.faces[i]);
      f["descriptor"] = analysis.embeddings[i].values;
      faces.push_back(std::move(f));
    }
    const nlohmann::json line = {{"image", path},
                                 {"model", kEmbeddingModelId},
                                 {"align", to_string(options.align)},
                                 {"detector", to_string(options.detector.kind)},
                                 {"chosen_face", analysis.chosen},
                                 {"faces", std::move(faces)}};
    std::cout << line.dump() << '\n';
  }
  return 0;
}

void draw_faces(const std::string& image_path, const std::vector<Face>& faces, const std::string& out,
                const DecodeLimits& limits) {
  cv::Mat bgr;
  cv::cvtColor(read_image(image_path, limits), bgr, cv::COLOR_RGB2BGR);
  const int thickness = std::max(1, std::min(bgr.cols, bgr.rows) / 400);
  for (const auto& f : faces) {
    cv::rectangle(bgr, cv::Rect(f.detection.box), cv::Scalar(0, 200, 0), thickness);
    for (const auto& p : f.landmarks) cv::circle(bgr, cv::Point(p), thickness + 1, cv::Scalar(0, 0, 255), cv::FILLED);
  }
  if (!cv::imwrite(out, bgr)) throw Error(ErrorCode::io_error, "cannot write " + out);
}

int run_detect(const CommonOptions& o, const std::string& image, const std::optional<std::string>& draw) {
  const auto options = o.pipeline();
  Verifier verifier(load_models(o), 1);
  const cv::Mat rgb = read_image(image, options.limits);
  const auto faces = verifier.detect(rgb, options);
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : faces) list.push_back(report::face_json(f));
    std::cout << nlohmann::json{{"image", image}, {"width", rgb.cols}, {"height", rgb.rows}, {"faces", list}}.dump(2)
              << '\n';
  } else {
    std::printf("%zu face(s) in %s (%dx%d)\n", faces.size(), image.c_str(), rgb.cols, rgb.rows);
    for (const auto& f : faces) {
      const auto& b = f.detection.box;
      std::printf("  x=%.1f y=%.1f w=%.1f h=%.1f score=%.3f\n", b.x, b.y, b.width, b.height, f.detection.score);
    }
  }
  if (draw) draw_faces(image, faces, *draw, options.limits);
  return 0;
}

int run_eval(const CommonOptions& o, const std::string& csv, const std::string& root, std::size_t threads,
             double threshold) {
  const auto options = o.pipeline();
  const auto pairs = read_pairs_csv(csv);
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  Verifier verifier(load_models(o), threads);
  const bool terminal = ::isatty(STDERR_FILENO);
  const auto started = std::chrono::steady_clock::now();
  const auto run = evaluate_pairs(verifier, pairs, root, options, threads, [&](std::size_t done, std::size_t total) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double rate = done / std::max(seconds, 1e-9);
    if (terminal) {
      std::fprintf(stderr, "\r%zu/%zu images  %.1f/s  ETA %.0f s   ", done, total, rate, (total - done) / rate);
    } else if (done == total || done % 500 == 0) {
      std::fprintf(stderr, "%zu/%zu images\n", done, total);
    }
  });
  if (terminal) std::fprintf(stderr, "\n");
  const auto at = accuracy_at(pairs, run, threshold);
  const double best = best_accuracy_threshold(pairs, run);
  const auto at_best = accuracy_at(pairs, run, best);
  if (o.json) {
    nlohmann::json failed = nlohmann::json::array();
    for (const auto& [img, why] : run.failed_images) failed.push_back({{"image", img}, {"error", why}});
    std::cout << nlohmann::json{{"pairs", pairs.size()},
                                {"images", run.images},
                                {"threshold", threshold},
                                {"accuracy", at.rate()},
                                {"false_accepts", at.false_accepts},
                                {"false_rejects", at.false_rejects},
                                {"failed_pairs", at.failed},
                                {"best_threshold", best},
                                {"best_accuracy", at_best.rate()},
                                {"align", to_string(options.align)},
                                {"detector", to_string(options.detector.kind)},
                                {"failed_images", failed}}
                     .dump(2)
              << '\n';
  } else {
    std::printf("%zu pairs, %zu images (%zu failed; their pairs count as wrong)\n", pairs.size(), run.images,
                run.failed_images.size());
    std::printf("threshold %.3f: accuracy %.2f%% (%zu false accepts, %zu false rejects, %zu failed pairs)\n", threshold,
                100 * at.rate(), at.false_accepts, at.false_rejects, at.failed);
    std::printf("best-accuracy threshold %.3f: accuracy %.2f%%\n", best, 100 * at_best.rate());
    for (const auto& [img, why] : run.failed_images) std::printf("  failed: %s: %s\n", img.c_str(), why.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"facematch: do two photos show the same person?"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "facematch 0.1.0");

  CommonOptions verify_opts, embed_opts, detect_opts;
  std::string first, second;
  double threshold = kDefaultThreshold;
  auto* verify = app.add_subcommand("verify", "Say whether two photos show the same person (exit 0 yes, 1 no, 2 error)");
  verify->add_option("first", first, "First photo")->required();
  verify->add_option("second", second, "Second photo")->required();
  verify->add_option("--threshold", threshold, "Same person when distance < threshold")->capture_default_str();
  add_common(*verify, verify_opts, true);

  std::vector<std::string> embed_images;
  auto* embed = app.add_subcommand("embed", "Print one JSON line of face descriptors per image");
  embed->add_option("images", embed_images, "Photos")->required();
  add_common(*embed, embed_opts, true);

  std::string detect_image;
  std::optional<std::string> draw;
  auto* detect = app.add_subcommand("detect", "List the faces in a photo");
  detect->add_option("image", detect_image, "Photo")->required();
  detect->add_option("--draw", draw, "Write a copy of the photo with faces and landmarks drawn");
  add_common(*detect, detect_opts, false);

  CommonOptions eval_opts;
  std::string eval_csv, eval_root = ".";
  std::size_t eval_threads = 0;
  double eval_threshold = kDefaultThreshold;
  auto* eval = app.add_subcommand("eval", "Measure accuracy on labelled pairs (CSV: img1,img2,same)");
  eval->add_option("pairs", eval_csv, "CSV file of pairs")->required();
  eval->add_option("--root", eval_root, "Folder the CSV's paths are relative to")->capture_default_str();
  eval->add_option("--threads", eval_threads, "Images embedded in parallel (0 = cores)");
  eval->add_option("--threshold", eval_threshold, "Threshold to report accuracy at")->capture_default_str();
  add_common(*eval, eval_opts, true);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitError;
  }

  try {
    if (*verify) return run_verify(verify_opts, first, second, threshold);
    if (*embed) return run_embed(embed_opts, embed_images);
    if (*detect) return run_detect(detect_opts, detect_image, draw);
    if (*eval) return run_eval(eval_opts, eval_csv, eval_root, eval_threads, eval_threshold);
  } catch (const Error& e) {
    std::cerr << "facematch: " << to_string(e.code()) << ": " << e.what() << '\n';
    return kExitError;
  } catch (const std::exception& e) {
    std::cerr << "facematch: internal: " << e.what() << '\n';
    return kExitError;
  }
  return kExitError;
}
