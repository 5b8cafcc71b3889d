// Detection recall of one detector configuration over labelled photos: how many photos with faces get
// at least one (and the expected number), how many faces appear on photos with none, and the detector's
// time per photo. Not a test: tools/detection-recall.sh runs it for each variant in the README.
//
//   detection_recall MODELS_DIR --faces DIR   photos of DIR/manifest.csv (min_faces, no_face tags)
//   detection_recall MODELS_DIR --list FILE   one photo path per line, each holding one labelled face
//                                             (--expect 0: photos without a face)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "facematch/detect.hpp"
#include "facematch/error.hpp"
#include "facematch/image.hpp"

namespace {

using namespace facematch;
using Clock = std::chrono::steady_clock;

struct Photo {
  std::string path;
  int min_faces = 1;  // 0: a photo with no face
};

std::vector<Photo> read_manifest(const std::string& dir) {
  std::ifstream in(dir + "/manifest.csv");
  if (!in) throw Error(ErrorCode::io_error, "cannot read " + dir + "/manifest.csv");
  std::vector<Photo> photos;
  std::string line;
  std::getline(in, line);  // header: img,identity,min_faces,tags,...
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (cells.size() < 4 || cells[2].empty()) continue;  // the corrupt file has no face count
    photos.push_back({dir + "/" + cells[0], std::stoi(cells[2])});
  }
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

int usage() {
  std::cerr << "usage: detection_recall MODELS_DIR (--faces DIR | --list FILE [--expect N]) [--limit N]\n"
               "  [--detector ssd|tiny|cascade] [--min-score F] [--tiny-size N] [--retry-low-light]\n"
               "  [--retry-min-score F]"
               "  [--fallback] [--tile-min-side N] [--sure F] [--verbose]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 4) return usage();
  const std::string models_dir = argv[1];
  DetectorOptions options;
  std::string faces_dir, list_file;
  std::size_t limit = static_cast<std::size_t>(-1);
  bool verbose = false;
  int expected = 1;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(ErrorCode::invalid_argument, a + " needs a value");
      return argv[++i];
    };
    if (a == "--faces")
      faces_dir = next();
    else if (a == "--list")
      list_file = next();
    else if (a == "--limit")
      limit = std::stoul(next());
    else if (a == "--expect")
      expected = std::stoi(next());
    else if (a == "--detector")
      options.kind = parse_detector(next());
    else if (a == "--min-score")
      options.min_score = std::stof(next());
    else if (a == "--tiny-size")
      options.tiny_input_size = std::stoi(next());
    else if (a == "--retry-low-light")
      options.retry_low_light = true;
    else if (a == "--retry-min-score")
      options.retry_min_score = std::stof(next());
    else if (a == "--fallback")
      options.fallback_other = true;
    else if (a == "--tile-min-side")
      options.tile_min_side = std::stoi(next());
    else if (a == "--sure")
      options.cascade_sure_score = std::stof(next());
    else if (a == "--verbose")
      verbose = true;
    else
      return usage();
  }
  if (faces_dir.empty() == list_file.empty()) return usage();
  const auto photos = faces_dir.empty() ? read_list(list_file, limit, expected) : read_manifest(faces_dir);

  auto detector = make_detector(Models::load(models_dir), options);
  detector->detect(cv::Mat(64, 64, CV_8UC3, cv::Scalar::all(128)));  // warm-up: JIT kernels, page-in

  int face_photos = 0, with_a_face = 0, with_all_faces = 0, decode_errors = 0;
  int noface_photos = 0, noface_with_detections = 0, false_faces = 0;
  long faces_expected = 0, faces_found_capped = 0;
  std::vector<double> times;
  std::vector<std::string> missed;
  for (const auto& photo : photos) {
    cv::Mat rgb;
    try {
      rgb = read_image(photo.path);
    } catch (const Error& e) {
      ++decode_errors;
      std::cerr << photo.path << ": " << e.what() << "\n";
      continue;
    }
    const auto t = Clock::now();
    const auto faces = detector->detect(rgb);
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    const int n = static_cast<int>(faces.size());
    if (verbose) {
      std::printf("%s %dx%d faces=%d expected=%d ms=%.1f", photo.path.c_str(), rgb.cols, rgb.rows, n,
                  photo.min_faces, times.back());
      for (const auto& f : faces)
        std::printf(" [%.0f,%.0f,%.0f,%.0f %.3f]", f.box.x, f.box.y, f.box.width, f.box.height, f.score);
      std::printf("\n");
    }
    if (photo.min_faces == 0) {
      ++noface_photos;
      noface_with_detections += n > 0;
      false_faces += n;
      continue;
    }
    ++face_photos;
    with_a_face += n > 0;
    with_all_faces += n >= photo.min_faces;
    faces_expected += photo.min_faces;
    faces_found_capped += std::min(n, photo.min_faces);
    if (n == 0) missed.push_back(photo.path);
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  double total = 0;
  for (const double v : times) total += v;
  const auto pct = [](double a, double b) { return b > 0 ? 100.0 * a / b : 0.0; };
  nlohmann::json out = {
      {"detector", to_string(options.kind)},
      {"min_score", options.min_score},
      {"tiny_input_size", options.tiny_input_size},
      {"retry_low_light", options.retry_low_light},
      {"retry_min_score", options.retry_min_score},
      {"fallback_other", options.fallback_other},
      {"tile_min_side", options.tile_min_side},
      {"cascade_sure_score", options.cascade_sure_score},
      {"face_photos", face_photos},
      {"with_a_face", with_a_face},
      {"no_face_found_pct", pct(face_photos - with_a_face, face_photos)},
      {"with_expected_count", with_all_faces},
      {"faces_found_of_expected", std::to_string(faces_found_capped) + "/" + std::to_string(faces_expected)},
      {"noface_photos", noface_photos},
      {"noface_photos_with_detections", noface_with_detections},
      {"false_faces_on_noface_photos", false_faces},
      {"decode_errors", decode_errors},
      {"ms_per_photo_mean", times.empty() ? 0.0 : total / static_cast<double>(times.size())},
      {"ms_per_photo_median", sorted.empty() ? 0.0 : sorted[sorted.size() / 2]},
      {"ms_per_photo_p95", sorted.empty() ? 0.0 : sorted[sorted.size() * 95 / 100]},
      {"missed", missed},
  };
  std::cout << out.dump() << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "detection_recall: " << e.what() << "\n";
  return 1;
}
