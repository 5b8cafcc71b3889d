// Detection recall of one pipeline configuration (recommended_pipeline() with the detector flags below
// on top): the recall set of issue 12 (variants of calibration photos whose face is known), the
// labelled photos of ../shared/faces, and faces reported on inputs that hold none. Not a test:
// tools/detection-recall.sh runs it for the default pipeline and face-api's detectors.
//
//   detection_recall MODELS_DIR --calibration DIR  the recall set from DIR/identities.csv's photos
//   detection_recall MODELS_DIR --faces DIR        photos of DIR/manifest.csv (min_faces), and faces on
//                                                  its no_face photos and on synthetic non-faces
//   detection_recall MODELS_DIR --list FILE        one photo path per line, each holding one face
//                                                  (--expect 0: photos without a face)
// The three may be combined. Prints one JSON line per result, then the results as markdown tables.
//
// Every image goes through Verifier::detect_encoded (decode, detect, landmarks), files as they are and
// the recall set's in-memory images as BMP (lossless, decoded in well under a millisecond); "ms" is the
// pipeline's own detector time (ImageAnalysis::times.detect_ms), 1 thread under OMP_NUM_THREADS=1.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "facematch/error.hpp"
#include "facematch/image.hpp"
#include "facematch/verifier.hpp"
#include "median.hpp"
#include "recall_set.hpp"

namespace {

using namespace facematch;
using json = nlohmann::ordered_json;  // keys in the order written

// ---- Detector flags ------------------------------------------------------------------------------------

template <typename T>
T parse_value(const std::string& text) {
  std::size_t used = 0;
  T value{};
  try {
    if constexpr (std::is_same_v<T, int>)
      value = std::stoi(text, &used);
    else
      value = std::stof(text, &used);
  } catch (const std::logic_error&) {
    used = 0;
  }
  if (used != text.size() || text.empty()) throw Error(ErrorCode::invalid_argument, "not a number: " + text);
  return value;
}

// One command-line flag per DetectorOptions field, applied on top of recommended_pipeline()'s detector;
// every result reports every field's value under "config". A bool field `--NAME` also gets `--no-NAME`.
struct DetectorFlag {
  std::string name;  // without the leading "--"
  std::string key;   // the field's name in "config"
  // Applies `arg` (with next() for its value) when it is this flag; false when it is not.
  std::function<bool(DetectorOptions&, const std::string& arg, const std::function<std::string()>& next)>
      apply;
  std::function<json(const DetectorOptions&)> value;
};

template <typename T>
DetectorFlag field_flag(std::string name, std::string key, T DetectorOptions::*field) {
  DetectorFlag flag{name, std::move(key), {}, {}};
  flag.apply = [name, field](DetectorOptions& o, const std::string& arg,
                             const std::function<std::string()>& next) {
    if constexpr (std::is_same_v<T, bool>) {
      if (arg != "--" + name && arg != "--no-" + name) return false;
      o.*field = arg == "--" + name;
    } else {
      if (arg != "--" + name) return false;
      if constexpr (std::is_same_v<T, DetectorKind>)
        o.*field = parse_detector(next());
      else
        o.*field = parse_value<T>(next());
    }
    return true;
  };
  flag.value = [field](const DetectorOptions& o) {
    if constexpr (std::is_same_v<T, DetectorKind>)
      return json(std::string(to_string(o.*field)));
    else if constexpr (std::is_same_v<T, float>)
      return json(std::round(o.*field * 1e6) / 1e6);  // 0.7, not the float's 0.699999988
    else
      return json(o.*field);
  };
  return flag;
}

// A new DetectorOptions field needs one line here.
const std::vector<DetectorFlag>& detector_flags() {
  static const std::vector<DetectorFlag> flags = {
      field_flag("detector", "detector", &DetectorOptions::kind),
      field_flag("min-score", "min_score", &DetectorOptions::min_score),
      field_flag("max-results", "max_results", &DetectorOptions::max_results),
      field_flag("tiny-size", "tiny_input_size", &DetectorOptions::tiny_input_size),
      field_flag("retry-low-light", "retry_low_light", &DetectorOptions::retry_low_light),
      field_flag("retry-min-score", "retry_min_score", &DetectorOptions::retry_min_score),
      field_flag("fallback", "fallback_other", &DetectorOptions::fallback_other),
      field_flag("tile-min-side", "tile_min_side", &DetectorOptions::tile_min_side),
      field_flag("sure", "cascade_sure_score", &DetectorOptions::cascade_sure_score),
      field_flag("border-retry", "border_retry_fraction", &DetectorOptions::border_retry_fraction),
      field_flag("doubt", "cascade_doubt_score", &DetectorOptions::cascade_doubt_score),
      field_flag("turns", "retry_quarter_turns", &DetectorOptions::retry_quarter_turns),
  };
  return flags;
}

json config_json(const PipelineOptions& o) {
  json out = {{"precision", std::string(to_string(resolve_precision(o.precision)))}};
  for (const auto& flag : detector_flags()) out[flag.key] = flag.value(o.detector);
  return out;
}

// ---- Inputs --------------------------------------------------------------------------------------------

struct Photo {
  std::string path;
  int min_faces = 1;  // 0: a photo with no face
};

std::vector<Photo> read_manifest(const std::string& dir) {
  std::vector<Photo> photos;
  for (const auto& cells : recall::read_csv(dir + "/manifest.csv"))  // img,identity,min_faces,tags,...
    if (cells.size() >= 4 && !cells[2].empty())                      // the corrupt file has no face count
      photos.push_back({dir + "/" + cells[0], std::stoi(cells[2])});
  return photos;
}

std::vector<Photo> read_list(const std::string& file, std::size_t limit, int expected) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::io_error, "cannot read " + file);
  std::vector<Photo> photos;
  for (std::string line; std::getline(in, line) && photos.size() < limit;)
    if (!line.empty()) photos.push_back({line, expected});
  return photos;
}

double top_score(const std::vector<Face>& faces) {
  double top = 0;
  for (const auto& f : faces) top = std::max(top, static_cast<double>(f.detection.score));
  return top;
}

double median_or_zero(const std::vector<double>& values) {
  return values.empty() ? 0.0 : bench::median(values);
}

struct Context {
  const Verifier& verifier;
  PipelineOptions options;
  // The same for the BMPs of in-memory images: their size is no upload's, so only the pixel limit holds.
  PipelineOptions bmp_options() const {
    PipelineOptions o = options;
    o.limits.max_bytes = std::max(o.limits.max_bytes, 3 * o.limits.max_pixels + 4096);
    return o;
  }
  std::string flags;  // the detector flags given, for the tables' titles
  bool verbose = false;
  std::string dump_dir;  // --dump: each missed variant image goes there, boxes drawn
  // Photos whose known face scores under this are left out: a doubtful face is no ground truth. Under
  // the cascade a face scores what tiny gave it when tiny was sure (0.7 and up), else SSD's score.
  double truth_min_score = 0.8;
};

// DIR/VARIANT/PHOTO.png: the image with its known face in green and what was found in red.
void dump_miss(const std::string& dir, const std::string& variant, const std::string& photo,
               const recall::FaceImage& image, const std::vector<Face>& found) {
  cv::Mat bgr;
  cv::cvtColor(image.rgb, bgr, cv::COLOR_RGB2BGR);
  const int thickness = std::max(1, std::max(bgr.cols, bgr.rows) / 300);
  cv::rectangle(bgr, cv::Rect(image.face), cv::Scalar(0, 255, 0), thickness);
  for (const auto& f : found) cv::rectangle(bgr, cv::Rect(f.detection.box), cv::Scalar(0, 0, 255), thickness);
  std::string file = photo;
  std::replace(file.begin(), file.end(), '/', '_');
  file = std::filesystem::path(file).replace_extension(".png").string();
  const auto folder = std::filesystem::path(dir) / variant;
  std::filesystem::create_directories(folder);
  cv::imwrite((folder / file).string(), bgr);
}

// ---- The recall set ------------------------------------------------------------------------------------

struct VariantResult {
  std::string name;
  int photos = 0, matched = 0;
  int sideways = 0;  // the face's box found, but not standing up: its landmarks and chip are wrong
  std::vector<double> ms;
  std::vector<std::string> missed;  // "photo (what was found instead)"
};

struct RecallSetResult {
  std::size_t photos_tried = 0;
  int skipped_no_face = 0, skipped_low_score = 0, decode_errors = 0;
  std::vector<VariantResult> variants;
  std::map<std::string, std::vector<std::string>> missed_by_photo;  // photo -> variants missing it
  double seconds = 0;
};

// What was found instead of the face, for --verbose.
std::string found_instead(const std::vector<Face>& faces, const cv::Rect2d& truth) {
  if (faces.empty()) return "no face";
  double best = 0;
  for (const auto& f : faces) best = std::max(best, recall::iou(f.detection.box, truth));
  char text[96];
  std::snprintf(text, sizeof text, "%zu face%s elsewhere, best IoU %.2f, top score %.2f", faces.size(),
                faces.size() == 1 ? "" : "s", best, top_score(faces));
  return text;
}

RecallSetResult run_recall_set(const Context& ctx, const std::string& dir, std::size_t limit,
                               const std::vector<std::string>& only) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<recall::Variant> variants;
  for (auto& v : recall::standard_variants())
    if (only.empty() || std::find(only.begin(), only.end(), v.name) != only.end()) variants.push_back(v);
  for (const auto& name : only)
    if (std::none_of(variants.begin(), variants.end(),
                     [&](const recall::Variant& v) { return v.name == name; }))
      throw Error(ErrorCode::invalid_argument, "--variants: no variant " + name);

  RecallSetResult result;
  for (const auto& v : variants) result.variants.emplace_back().name = v.name;
  const auto photos = recall::recall_set_photos(dir, limit);
  result.photos_tried = photos.size();
  // The ground truth is always the recommended pipeline's own view of the original file, whatever the
  // flags, so every configuration is measured against the same faces.
  const PipelineOptions truth_options = recommended_pipeline(), bmp_options = ctx.bmp_options();
  for (const auto& name : photos) {
    const std::string path = dir + "/" + name;
    recall::FaceImage original;
    try {
      const ImageAnalysis truth = ctx.verifier.detect_file(path, truth_options);
      if (truth.faces.empty()) {
        ++result.skipped_no_face;
        continue;
      }
      const Detection& face = truth.faces[choose_face(truth.faces, FacePolicy::largest)].detection;
      if (face.score < ctx.truth_min_score) {
        ++result.skipped_low_score;
        continue;
      }
      original = {read_image(path), face.box};
    } catch (const Error& e) {
      ++result.decode_errors;
      std::cerr << path << ": " << e.what() << "\n";
      continue;
    }
    for (std::size_t i = 0; i < variants.size(); ++i) {
      VariantResult& r = result.variants[i];
      const recall::FaceImage image = variants[i].make(original);
      ++r.photos;
      std::string miss;
      try {
        const auto bytes = recall::as_bmp(image.rgb);
        const ImageAnalysis found = ctx.verifier.detect_encoded(bytes, bmp_options);
        r.ms.push_back(found.times.detect_ms);
        // Found means read within 45 degrees of upright: a sideways face's box alone gives a wrong chip.
        const bool matched = std::any_of(found.faces.begin(), found.faces.end(), [&](const Face& f) {
          return recall::matches_face(f.detection.box, image.face) &&
                 recall::reads_upright(image, f.detection.upright_turns);
        });
        if (matched) {
          ++r.matched;
          continue;
        }
        if (std::any_of(found.faces.begin(), found.faces.end(),
                        [&](const Face& f) { return recall::matches_face(f.detection.box, image.face); }))
          ++r.sideways;
        miss = found_instead(found.faces, image.face);
        if (!ctx.dump_dir.empty()) dump_miss(ctx.dump_dir, r.name, name, image, found.faces);
      } catch (const Error& e) {
        miss = std::string("error: ") + e.what();
      }
      char size[32];
      std::snprintf(size, sizeof size, "%dx%d, face %.0f px", image.rgb.cols, image.rgb.rows,
                    recall::box_side(image.face));
      r.missed.push_back(name + " (" + size + ": " + miss + ")");
      result.missed_by_photo[name].push_back(r.name);
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

void print_recall_set(const Context& ctx, const RecallSetResult& result) {
  const json config = config_json(ctx.options);
  const int photos = result.variants.empty() ? 0 : result.variants.front().photos;
  std::cout << json{{"set", "recall_ground_truth"},
                    {"config", config},
                    {"photos_tried", result.photos_tried},
                    {"photos", photos},
                    {"skipped_no_face", result.skipped_no_face},
                    {"skipped_score_below", result.skipped_low_score},
                    {"ground_truth_min_score", ctx.truth_min_score},
                    {"decode_errors", result.decode_errors},
                    {"seconds", result.seconds}}
                   .dump()
            << "\n";
  for (const auto& r : result.variants) {
    json line = {{"set", "recall"},
                 {"config", config},
                 {"variant", r.name},
                 {"photos", r.photos},
                 {"matched", r.matched},
                 {"sideways", r.sideways},
                 {"recall", r.photos ? static_cast<double>(r.matched) / r.photos : 0.0},
                 {"detect_ms_median", median_or_zero(r.ms)}};
    if (ctx.verbose) line["missed"] = r.missed;
    std::cout << line.dump() << "\n";
  }
}

// ---- ../shared/faces and inputs without a face -------------------------------------------------------

struct NonFaceResult {
  std::string input;
  int faces = 0;
  double top_score = 0;
};

struct FacesResult {
  int face_photos = 0, with_a_face = 0, with_all_faces = 0, decode_errors = 0;
  long faces_expected = 0, faces_found_capped = 0;
  std::vector<double> ms;
  std::vector<std::string> missed;
  std::vector<NonFaceResult> no_face;  // photos labelled without a face
};

FacesResult run_labelled(const Context& ctx, const std::vector<Photo>& photos) {
  FacesResult r;
  for (const auto& photo : photos) {
    ImageAnalysis found;
    try {
      found = ctx.verifier.detect_file(photo.path, ctx.options);
    } catch (const Error& e) {
      ++r.decode_errors;
      std::cerr << photo.path << ": " << e.what() << "\n";
      continue;
    }
    const int n = static_cast<int>(found.faces.size());
    if (ctx.verbose) {
      std::printf("# %s %dx%d faces=%d expected=%d ms=%.1f", photo.path.c_str(), found.width, found.height, n,
                  photo.min_faces, found.times.detect_ms);
      for (const auto& f : found.faces)
        std::printf(" [%.0f,%.0f,%.0f,%.0f %.3f]", f.detection.box.x, f.detection.box.y,
                    f.detection.box.width, f.detection.box.height, f.detection.score);
      std::printf("\n");
    }
    if (photo.min_faces == 0) {
      r.no_face.push_back({std::filesystem::path(photo.path).filename().string(), n, top_score(found.faces)});
      continue;
    }
    r.ms.push_back(found.times.detect_ms);
    ++r.face_photos;
    r.with_a_face += n > 0;
    r.with_all_faces += n >= photo.min_faces;
    r.faces_expected += photo.min_faces;
    r.faces_found_capped += std::min(n, photo.min_faces);
    if (n == 0) r.missed.push_back(photo.path);
  }
  return r;
}

json labelled_json(const Context& ctx, const std::string& set, const FacesResult& r) {
  int with_detections = 0, false_faces = 0;
  for (const auto& p : r.no_face) with_detections += p.faces > 0, false_faces += p.faces;
  return {{"set", set},
          {"config", config_json(ctx.options)},
          {"face_photos", r.face_photos},
          {"with_a_face", r.with_a_face},
          {"with_expected_count", r.with_all_faces},
          {"faces_found_of_expected",
           std::to_string(r.faces_found_capped) + "/" + std::to_string(r.faces_expected)},
          {"noface_photos", r.no_face.size()},
          {"noface_photos_with_detections", with_detections},
          {"false_faces_on_noface_photos", false_faces},
          {"decode_errors", r.decode_errors},
          {"detect_ms_median", median_or_zero(r.ms)},
          {"missed", r.missed}};
}

std::vector<NonFaceResult> run_synthetic_non_faces(const Context& ctx, const std::vector<Photo>& labelled) {
  const auto face_photo =
      std::find_if(labelled.begin(), labelled.end(), [](const Photo& p) { return p.min_faces == 1; });
  if (face_photo == labelled.end())
    throw Error(ErrorCode::invalid_argument, "the manifest holds no face photo");
  std::vector<NonFaceResult> out;
  for (const auto& input : recall::synthetic_non_faces(read_image(face_photo->path))) {
    const auto bytes = recall::as_bmp(input.rgb);
    const auto found = ctx.verifier.detect_encoded(bytes, ctx.bmp_options());
    std::string name = input.name;
    if (name.rfind("blur", 0) == 0)
      name += " (" + std::filesystem::path(face_photo->path).filename().string() + ")";
    out.push_back({name, static_cast<int>(found.faces.size()), top_score(found.faces)});
  }
  return out;
}

// ---- Tables --------------------------------------------------------------------------------------------

void print_tables(const Context& ctx, const RecallSetResult* recall_set, const FacesResult* faces,
                  const std::vector<NonFaceResult>& non_faces) {
  std::printf("\n## recommended_pipeline()%s%s\n", ctx.flags.empty() ? "" : " + ", ctx.flags.c_str());
  if (recall_set) {
    const int photos = recall_set->variants.empty() ? 0 : recall_set->variants.front().photos;
    std::printf(
        "\nRecall set: %d of %zu calibration photos (skipped: %d without a face, %d whose face scores under "
        "%.1f, %d unreadable); %.0f s\n\n",
        photos, recall_set->photos_tried, recall_set->skipped_no_face, recall_set->skipped_low_score,
        ctx.truth_min_score, recall_set->decode_errors, recall_set->seconds);
    std::printf(
        "| variant | photos | matched | recall | found sideways | median detect ms |\n"
        "| --- | --- | --- | --- | --- | --- |\n");
    for (const auto& r : recall_set->variants)
      std::printf("| %s | %d | %d | %.1f%% | %d | %.1f |\n", r.name.c_str(), r.photos, r.matched,
                  r.photos ? 100.0 * r.matched / r.photos : 0.0, r.sideways, median_or_zero(r.ms));
  }
  if (faces)
    std::printf(
        "\n../shared/faces: photos with a face %d/%d, with all their faces %d/%d, faces found %ld/%ld, "
        "median detect ms %.1f\n",
        faces->with_a_face, faces->face_photos, faces->with_all_faces, faces->face_photos,
        faces->faces_found_capped, faces->faces_expected, median_or_zero(faces->ms));
  if (!non_faces.empty()) {
    std::printf("\n| input without a face | faces | top score |\n| --- | --- | --- |\n");
    for (const auto& r : non_faces)
      std::printf("| %s | %d | %.3f |\n", r.input.c_str(), r.faces, r.top_score);
  }
  if (recall_set && ctx.verbose) {
    std::printf("\n### Missed, per variant\n");
    for (const auto& r : recall_set->variants) {
      std::printf("\n%s: %zu missed\n", r.name.c_str(), r.missed.size());
      for (const auto& m : r.missed) std::printf("- %s\n", m.c_str());
    }
    std::vector<std::pair<std::string, std::vector<std::string>>> by_photo(
        recall_set->missed_by_photo.begin(), recall_set->missed_by_photo.end());
    std::stable_sort(by_photo.begin(), by_photo.end(),
                     [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); });
    std::printf("\n### Photos missed in the most variants\n\n");
    for (std::size_t i = 0; i < by_photo.size() && i < 30; ++i) {
      std::string names;
      for (const auto& v : by_photo[i].second) {
        if (!names.empty()) names += ' ';
        names += v;
      }
      std::printf("- %s: %zu (%s)\n", by_photo[i].first.c_str(), by_photo[i].second.size(), names.c_str());
    }
  }
}

int usage() {
  std::cerr
      << "usage: detection_recall MODELS_DIR [--calibration DIR] [--faces DIR] [--list FILE [--expect N]]\n"
         "  [--limit N] [--variants NAME,NAME,...] [--precision auto|fp32|bf16|int8] [--verbose]\n"
         "  [--truth-min-score F (default 0.8)]\n"
         "  [--dump DIR (each missed recall-set image, known face green, detections red)]\n"
         "  [detector flags]\n"
         "  --limit: photos of the recall set (default 300) or of --list (default all)\n"
         "  detector flags, on top of recommended_pipeline():";
  for (const auto& flag : detector_flags()) std::cerr << " --" << flag.name;
  std::cerr << " (bool flags also --no-NAME)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) return usage();
  const Verifier verifier(Models::load(argv[1]), 1);
  Context ctx{verifier, recommended_pipeline(), "", false, "", 0.8};
  std::string calibration_dir, faces_dir, list_file;
  std::size_t limit = 0;  // 0: each set's default
  std::vector<std::string> only_variants;
  int expected = 1;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(ErrorCode::invalid_argument, a + " needs a value");
      return argv[++i];
    };
    if (a == "--calibration")
      calibration_dir = next();
    else if (a == "--faces")
      faces_dir = next();
    else if (a == "--list")
      list_file = next();
    else if (a == "--limit")
      limit = static_cast<std::size_t>(parse_value<int>(next()));
    else if (a == "--expect")
      expected = parse_value<int>(next());
    else if (a == "--variants") {
      std::stringstream names(next());
      for (std::string name; std::getline(names, name, ',');) only_variants.push_back(name);
    } else if (a == "--verbose")
      ctx.verbose = true;
    else if (a == "--truth-min-score")
      ctx.truth_min_score = parse_value<float>(next());
    else if (a == "--dump")
      ctx.dump_dir = next();
    else if (a == "--precision") {  // a pipeline option: the tiny detector runs in bf16 under auto
      ctx.options.precision = parse_precision(next());
      ctx.flags += (ctx.flags.empty() ? "--precision " : " --precision ") + std::string(argv[i]);
    } else {
      const std::size_t flag_start = static_cast<std::size_t>(i);
      const bool known =
          std::any_of(detector_flags().begin(), detector_flags().end(),
                      [&](const DetectorFlag& f) { return f.apply(ctx.options.detector, a, next); });
      if (!known) return usage();
      for (std::size_t j = flag_start; j <= static_cast<std::size_t>(i); ++j) {
        if (!ctx.flags.empty()) ctx.flags += ' ';
        ctx.flags += argv[j];
      }
    }
  }
  if (calibration_dir.empty() && faces_dir.empty() && list_file.empty()) return usage();
  // Warm-up: JIT kernels and page-in of every net the configuration can run.
  ctx.verifier.detect(cv::Mat(64, 64, CV_8UC3, cv::Scalar::all(128)), ctx.options);

  std::optional<RecallSetResult> recall_set;
  if (!calibration_dir.empty()) {
    recall_set = run_recall_set(ctx, calibration_dir, limit ? limit : 300, only_variants);
    print_recall_set(ctx, *recall_set);
  }
  std::optional<FacesResult> faces;
  std::vector<NonFaceResult> non_faces;
  if (!faces_dir.empty()) {
    const auto photos = read_manifest(faces_dir);
    faces = run_labelled(ctx, photos);
    std::cout << labelled_json(ctx, "faces", *faces).dump() << "\n";
    non_faces = faces->no_face;
    for (const auto& r : run_synthetic_non_faces(ctx, photos)) non_faces.push_back(r);
    for (const auto& r : non_faces)
      std::cout << json{{"set", "false_detections"},
                        {"config", config_json(ctx.options)},
                        {"input", r.input},
                        {"faces", r.faces},
                        {"top_score", r.top_score}}
                       .dump()
                << "\n";
  }
  if (!list_file.empty()) {
    const auto photos = read_list(list_file, limit ? limit : static_cast<std::size_t>(-1), expected);
    std::cout << labelled_json(ctx, "list", run_labelled(ctx, photos)).dump() << "\n";
  }
  print_tables(ctx, recall_set ? &*recall_set : nullptr, faces ? &*faces : nullptr, non_faces);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "detection_recall: " << e.what() << "\n";
  return 1;
}
