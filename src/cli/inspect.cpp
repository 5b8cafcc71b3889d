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

int run_verify(const CommonOptions& o, const std::string& a, const std::string& b, double threshold,
               const std::optional<std::string>& operating_point) {
  const auto options = o.pipeline();
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

int run_embed(const CommonOptions& o, const std::vector<std::string>& images) {
  const auto options = o.pipeline();
  Verifier verifier(load_models(o), 1);
  for (const auto& path : images) {
    const auto analysis = verifier.analyze_file(path, options, /*embed_all_faces=*/true);
    auto faces = report::faces_json(analysis);
    for (std::size_t i = 0; i < analysis.faces.size(); ++i)
      faces[i]["descriptor"] = analysis.embeddings[i].values;
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
    for (const auto& p : f.landmarks)
      cv::circle(bgr, cv::Point(p), thickness + 1, cv::Scalar(0, 0, 255), cv::FILLED);
  }
  if (!cv::imwrite(out, bgr)) throw Error(ErrorCode::io_error, "cannot write " + out);
}

int run_detect(const CommonOptions& o, const std::string& image, const std::optional<std::string>& draw) {
  const auto options = o.pipeline();
  Verifier verifier(load_models(o), 1);
  const auto analysis = verifier.detect_file(image, options);
  const auto& faces = analysis.faces;
  if (o.json) {
    const auto list = report::faces_json(analysis);
    std::cout << nlohmann::json{{"image", image},
                                {"width", analysis.width},
                                {"height", analysis.height},
                                {"detector", to_string(options.detector.kind)},
                                {"faces", list}}
                     .dump(2)
              << '\n';
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
         if (a.subject)
           return run_verify_subject(a.common, a.gallery, a.first, *a.subject,
                                     a.operating_point ? std::nullopt : std::optional(a.threshold),
                                     a.operating_point);
         if (a.second.empty())
           throw Error(ErrorCode::invalid_argument, "verify needs a second photo or --subject");
         return run_verify(verify_args->common, verify_args->first, verify_args->second,
                           verify_args->threshold, verify_args->operating_point);
       }});

  struct EmbedArgs {
    CommonOptions common;
    std::vector<std::string> images;
  };
  auto embed_args = std::make_shared<EmbedArgs>();
  auto* embed = app.add_subcommand("embed", "Print one JSON line of face descriptors per image");
  embed->add_option("images", embed_args->images, "Photos")->required();
  add_common(*embed, embed_args->common, true);
  commands.push_back({embed, [embed_args] { return run_embed(embed_args->common, embed_args->images); }});

  struct DetectArgs {
    CommonOptions common;
    std::string image;
    std::optional<std::string> draw;
  };
  auto detect_args = std::make_shared<DetectArgs>();
  auto* detect = app.add_subcommand("detect", "List the faces in a photo");
  detect->add_option("image", detect_args->image, "Photo")->required();
  detect->add_option("--draw", detect_args->draw, "Write a copy of the photo with faces and landmarks drawn");
  add_common(*detect, detect_args->common, false);
  commands.push_back({detect, [detect_args] {
                        return run_detect(detect_args->common, detect_args->image, detect_args->draw);
                      }});
}

}  // namespace facematch::cli
