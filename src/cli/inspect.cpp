// `verify`, `embed` and `detect`: one or two photos in, a verdict, descriptors or faces out.
#include <cstdio>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/operating_point.hpp"
#include "report/json_report.hpp"

namespace facematch::cli {
namespace {

// Photos at least this long on a side are also searched in 2x2 tiles by `detect` (docs/detection-recall.md:
// tiles from 1024 px found 54 of the 56 faces of ../shared/faces, the cascade 45).
constexpr int kDetectTileMinSide = 1024;

int run_verify(const CommonOptions& o, const std::string& a, const std::string& b, double threshold,
               const std::optional<std::string>& operating_point) {
  const auto options = o.pipeline();
  check_threshold(threshold, "--threshold");
  // Resolved before any image is analysed so that a bad name fails fast.
  const auto op =
      operating_point ? std::optional(resolve_operating_point(*operating_point, options)) : std::nullopt;
  if (op) threshold = op->point.threshold;
  Verifier verifier(load_models(o), 1);
  const auto v = verifier.verify_files(a, b, options, threshold);
  if (o.json) {
    auto j = report::verification_json(v);
    j["img1"]["path"] = a;
    j["img2"]["path"] = b;
    if (op) j["operating_point"] = report::operating_point_json(*op);
    std::cout << j.dump(2) << '\n';
  } else {
    // A calibrated threshold is shown with the digits that matter; a typed one as typed.
    char shown[32];
    std::snprintf(shown, sizeof shown, op ? "%.4f" : "%.4g", v.threshold);
    const std::string point = op ? " (operating point " + op->point.name + ", " + op->origin + ")" : "";
    std::printf("%s  distance %.4f %s threshold %s%s  (%s, %s alignment, %.0f ms)\n",
                v.verified ? "Yes" : "No", v.distance, v.verified ? "<" : ">=", shown, point.c_str(),
                std::string(to_string(v.detector)).c_str(), std::string(to_string(v.align)).c_str(),
                v.total_ms);
  }
  return v.verified ? kExitSame : kExitDifferent;
}

// One line per image, failures included, so that a batch goes on past a bad photo and every line says
// which image it is about. Exit 0 when every image gave a line of faces, 1 when any failed.
int run_embed(const CommonOptions& o, const std::vector<std::string>& images) {
  const auto options = o.pipeline();
  Verifier verifier(load_models(o), 1);
  bool any_failed = false;
  for (const auto& path : images) {
    nlohmann::json line;
    try {
      const auto analysis = verifier.analyze_file(path, options, /*embed_all_faces=*/true);
      line = report::image_json(analysis, {.descriptors = true, .stage_times = true});
      line.update({{"image", path},
                   {"model", kEmbeddingModelId},
                   {"align", to_string(options.align)},
                   {"detector", to_string(options.detector.kind)}});
    } catch (const Error& e) {
      // Failures of the whole run (models, engine) stop it; failures of one image are its line.
      if (e.code() == ErrorCode::internal || e.code() == ErrorCode::model_error) throw;
      any_failed = true;
      const auto about = about_image(e, path);
      line = report::error_json(about);
      line["image"] = path;
      std::cerr << "facematch: " << to_string(e.code()) << ": " << about.what() << '\n';
    }
    std::cout << line.dump() << '\n' << std::flush;
  }
  return any_failed ? kExitDifferent : kExitSame;
}

void draw_faces(const std::string& image_path, const std::vector<Face>& faces, const std::string& out,
                const DecodeLimits& limits) {
  cv::Mat bgr;
  cv::cvtColor(read_image(image_path, limits), bgr, cv::COLOR_RGB2BGR);
  const int thickness = std::max(1, std::min(bgr.cols, bgr.rows) / 400);
  for (const auto& f : faces) {
    cv::rectangle(bgr, cv::Rect(f.detection.box), cv::Scalar(0, 200, 0), thickness);
    for (const auto& p : f.landmarks)
      cv::circle(bgr, cv::Point(p), thickness + 1, cv::Scalar(0, 0, 255), cv::FILLED);
  }
  if (!cv::imwrite(out, bgr)) throw Error(ErrorCode::io_error, "cannot write " + out);
}

int run_detect(const CommonOptions& o, const std::string& image, const std::optional<std::string>& draw) {
  const auto options = o.pipeline();
  // Checked before the models load and the photo is analysed: OpenCV only says so after the work.
  if (draw && !cv::haveImageWriter(*draw))
    throw Error(ErrorCode::invalid_argument,
                "--draw " + *draw + ": no image format for this extension (use .jpg, .png, .bmp, .webp ...)");
  Verifier verifier(load_models(o), 1);
  const auto analysis = [&] {
    try {
      return verifier.detect_file(image, options);
    } catch (const Error& e) {
      throw about_image(e, image);
    }
  }();
  const auto& faces = analysis.faces;
  if (o.json) {
    auto j = report::image_json(analysis);
    j.update({{"image", image}, {"detector", to_string(options.detector.kind)}});
    std::cout << j.dump(2) << '\n';
  } else {
    std::printf("%zu face(s) in %s (%dx%d)\n", faces.size(), image.c_str(), analysis.width, analysis.height);
    for (const auto& f : faces) {
      const auto& b = f.detection.box;
      const auto& q = analysis.quality.at(static_cast<std::size_t>(&f - faces.data()));
      std::printf("  x=%.1f y=%.1f w=%.1f h=%.1f score=%.3f quality %s\n", b.x, b.y, b.width, b.height,
                  f.detection.score, q.acceptable() ? "ok" : ("poor: " + q.reasons_text()).c_str());
    }
  }
  if (draw) draw_faces(image, faces, *draw, options.limits);
  return 0;
}

}  // namespace

void add_inspect_commands(CLI::App& app, CommandTable& commands) {
  struct VerifyArgs {
    CommonOptions common;
    std::string first, second;
    double threshold = kDefaultThreshold;
    std::optional<std::string> operating_point;
    std::optional<std::string> subject;
    std::string gallery = kDefaultGalleryLocation;
  };
  auto verify_args = std::make_shared<VerifyArgs>();
  auto* verify = app.add_subcommand(
      "verify",
      "Say whether two photos, or a photo and an enrolled subject (--subject), show the same "
      "person (exit 0 yes, 1 no, 2 error)");
  verify->add_option("first", verify_args->first, "First photo")->required();
  auto* second = verify->add_option("second", verify_args->second, "Second photo");
  verify->add_option("--subject", verify_args->subject, "Compare with this enrolled subject's closest face")
      ->excludes(second);
  add_gallery_option(*verify, verify_args->gallery);
  auto* threshold =
      verify->add_option("--threshold", verify_args->threshold, "Same person when distance < threshold")
          ->capture_default_str();
  verify
      ->add_option(
          "--operating-point", verify_args->operating_point,
          "Threshold of a calibrated operating point: NAME (built in, e.g. far1e-3), FILE (written by "
          "calibrate; its default point) or FILE:NAME")
      ->excludes(threshold);
  add_common(*verify, verify_args->common, true);
  commands.push_back(
      {verify, [verify_args] {
         const auto& a = *verify_args;
         return with_json_errors(a.common.json, [&] {
           if (a.subject)
             return run_verify_subject(a.common, a.gallery, a.first, *a.subject,
                                       a.operating_point ? std::nullopt : std::optional(a.threshold),
                                       a.operating_point);
           if (a.second.empty())
             throw Error(ErrorCode::invalid_argument, "verify needs a second photo or --subject");
           return run_verify(a.common, a.first, a.second, a.threshold, a.operating_point);
         });
       }});

  struct EmbedArgs {
    CommonOptions common;
    std::vector<std::string> images;
  };
  auto embed_args = std::make_shared<EmbedArgs>();
  auto* embed = app.add_subcommand(
      "embed",
      "Print one JSON line per image: its faces with descriptors, or {\"image\", \"error\"} when it failed "
      "(exit 0 when every image gave faces, 1 when any failed, 2 when the command could not run)");
  embed->add_option("images", embed_args->images, "Photos")->required();
  add_common(*embed, embed_args->common, true);
  // Kept so that scripts passing it to every command work; there is no other output to choose.
  embed->get_option("--json")->description("Accepted and ignored: embed always prints JSON lines");
  commands.push_back({embed, [embed_args] { return run_embed(embed_args->common, embed_args->images); }});

  struct DetectArgs {
    CommonOptions common;
    std::string image;
    std::optional<std::string> draw;
  };
  auto detect_args = std::make_shared<DetectArgs>();
  // A command that lists faces should find them all: the cascade (verify's default, shared with the
  // service) stops at the faces tiny is sure of, which is right when one face is compared and listed 2 of
  // a crowd's faces; SSD with 2x2 tiles on large photos finds the small ones (docs/interfaces.md).
  detect_args->common.defaults.detector.kind = DetectorKind::ssd;
  detect_args->common.defaults.detector.tile_min_side = kDetectTileMinSide;
  auto* detect = app.add_subcommand(
      "detect",
      "List every face in a photo (SSD, with tiles on photos of 1024 pixels and more; --detector cascade "
      "is verify's faster choice, which lists only the faces it is sure of when some are)");
  detect->add_option("image", detect_args->image, "Photo")->required();
  detect->add_option("--draw", detect_args->draw, "Write a copy of the photo with faces and landmarks drawn");
  add_common(*detect, detect_args->common, false);
  commands.push_back({detect, [detect_args] {
                        const auto& a = *detect_args;
                        return with_json_errors(a.common.json,
                                                [&] { return run_detect(a.common, a.image, a.draw); });
                      }});
}

}  // namespace facematch::cli
