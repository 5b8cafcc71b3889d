// The calibration study behind QualityThresholds' defaults (docs/quality.md). Not a test:
// tools/quality-study.sh runs both steps on ../shared/calibration.
//
//   quality_study analyse MODELS_DIR --pairs PAIRS.csv --root DIR --out IMAGES.csv [--threads N]
//       every image of the pairs file through recommended_pipeline() (Verifier::analyze_file), then
//       assess_face_quality of the chosen face on the image as the pipeline decoded it (reduced
//       decoding included, so the chip is the one that was embedded): one CSV row per image.
//   quality_study analyse MODELS_DIR IMAGE...      the same rows for single photos, on stdout
//   quality_study report IMAGES.csv DISTANCES.csv [--threshold 0.6] [--min-interocular PX] ...
//       joins the rows with `facematch eval --distances` and prints, per quality reason and per bucket of
//       each measure, the pairs in which at least one face has it and their error rate at the threshold
//       (false accepts + false rejects over pairs) against the pairs whose two faces are acceptable.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "facematch/align.hpp"
#include "facematch/compare.hpp"
#include "facematch/error.hpp"
#include "facematch/evaluate.hpp"
#include "facematch/image.hpp"
#include "facematch/quality.hpp"
#include "facematch/verifier.hpp"

namespace fm = facematch;

namespace {

// ---- analyse -------------------------------------------------------------------------------------

const char* const kImageColumns =
    "img,status,faces,decode_scale,score,interocular_px,sharpness,yaw_deg,pitch_deg,roll_deg,brightness,"
    "contrast,box_outside,landmarks_outside,reasons";

std::string join(const std::vector<std::string>& items, char separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(1, separator)) + item;
  return out;
}

// One image's row: the pipeline's chosen face, measured in the image at the scale it was decoded at;
// interocular_px is given in full-size pixels like the face's box.
std::string analyse_image(const fm::Verifier& verifier, const fm::PipelineOptions& options,
                          const std::filesystem::path& path, const std::string& name) {
  char buffer[512];
  try {
    const fm::ImageAnalysis analysis = verifier.analyze_file(path, options);
    const auto bytes = fm::read_image_bytes(path, options.limits);
    const fm::ScaledImage decoded = fm::decode_image_scaled(bytes, analysis.decode_scale, options.limits);
    fm::Face face = analysis.faces.at(analysis.chosen);
    const double to_decoded = 1.0 / analysis.decode_scale;
    face.detection.box =
        cv::Rect2d(face.detection.box.x * to_decoded, face.detection.box.y * to_decoded,
                   face.detection.box.width * to_decoded, face.detection.box.height * to_decoded);
    for (auto& p : face.landmarks) p *= to_decoded;
    const cv::Mat chip = fm::extract_chip(decoded.rgb, face, options.align);
    fm::FaceQuality q = fm::assess_face_quality(decoded.rgb, face, chip);
    std::snprintf(buffer, sizeof buffer, "%s,ok,%zu,%d,%.4f,%.2f,%.4f,%.2f,%.2f,%.2f,%.2f,%.2f,%.4f,%d,%s",
                  name.c_str(), analysis.faces.size(), analysis.decode_scale, face.detection.score,
                  q.interocular_px * analysis.decode_scale, q.sharpness, q.yaw_deg, q.pitch_deg, q.roll_deg,
                  q.brightness, q.contrast, q.box_outside, q.landmarks_outside ? 1 : 0,
                  join(q.reasons, ';').c_str());
  } catch (const fm::Error& e) {
    std::snprintf(buffer, sizeof buffer, "%s,%s,0,1,,,,,,,,,,,", name.c_str(),
                  std::string(fm::to_string(e.code())).c_str());
  }
  return buffer;
}

int analyse(const std::string& models_dir, const std::string& pairs_csv, const std::string& root,
            const std::string& out_path, std::size_t threads, const std::vector<std::string>& images) {
  const fm::PipelineOptions options = fm::recommended_pipeline();
  std::vector<std::string> names;
  std::filesystem::path base = root;
  if (!pairs_csv.empty()) {
    std::set<std::string> distinct;
    for (const auto& pair : fm::read_pairs_csv(pairs_csv)) distinct.insert({pair.first, pair.second});
    names.assign(distinct.begin(), distinct.end());
  } else {
    names = images;
    base.clear();
  }
  threads = std::max<std::size_t>(threads, 1);
  fm::Verifier verifier(fm::Models::load(models_dir), threads);
  std::vector<std::string> rows(names.size());
  std::atomic<std::size_t> next{0}, done{0};
  auto work = [&] {
    for (std::size_t i; (i = next++) < names.size();) {
      rows[i] = analyse_image(verifier, options,
                              base.empty() ? std::filesystem::path(names[i]) : base / names[i], names[i]);
      const std::size_t finished = ++done;
      if (finished % 250 == 0 || finished == names.size())
        std::fprintf(stderr, "%zu/%zu images\n", finished, names.size());
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();

  std::ofstream file;
  if (!out_path.empty()) {
    file.open(out_path);
    if (!file) throw fm::Error(fm::ErrorCode::io_error, "cannot write " + out_path);
  }
  std::ostream& out = out_path.empty() ? std::cout : file;
  out << kImageColumns << '\n';
  for (const auto& row : rows) out << row << '\n';
  return 0;
}

// ---- report --------------------------------------------------------------------------------------

std::vector<std::string> split(const std::string& line, char separator = ',') {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  for (std::string cell; std::getline(ss, cell, separator);) cells.push_back(cell);
  if (!line.empty() && line.back() == separator) cells.emplace_back();
  return cells;
}

// A CSV file as rows of named cells (no quoting, as every file here is written by this project).
std::vector<std::map<std::string, std::string>> read_table(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw fm::Error(fm::ErrorCode::io_error, "cannot read " + path);
  std::string line;
  std::getline(in, line);
  const auto header = split(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto cells = split(line);
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

// The measured quality of a face, re-judged by the report's thresholds.
struct Measured {
  fm::FaceQuality quality;
  std::vector<std::string> reasons(const fm::QualityThresholds& t) const {
    return fm::quality_reasons(quality, t);
  }
};

struct Pair {
  const Measured* first;
  const Measured* second;
  bool same;
  double distance;
};

struct Rate {
  std::size_t pairs = 0, genuine = 0, false_accepts = 0, false_rejects = 0;
  double genuine_distance_sum = 0;
  void add(const Pair& p, double threshold) {
    ++pairs;
    const bool accepted = fm::is_match(p.distance, threshold);
    if (p.same) {
      ++genuine;
      genuine_distance_sum += p.distance;
      false_rejects += !accepted;
    } else {
      false_accepts += accepted;
    }
  }
  double error() const {
    return pairs ? 100.0 * static_cast<double>(false_accepts + false_rejects) / pairs : 0;
  }
  std::string text() const {
    char buffer[160];
    if (!pairs) return "      0 pairs";
    std::snprintf(buffer, sizeof buffer,
                  "%7zu pairs (%5zu genuine)  FA %3zu  FR %4zu  error %6.2f%%  genuine mean %.3f", pairs,
                  genuine, false_accepts, false_rejects, error(),
                  genuine ? genuine_distance_sum / static_cast<double>(genuine) : 0.0);
    return buffer;
  }
};

// A measure of a pair: the worse face's value (the smaller for a minimum, the larger for a maximum).
struct PairMeasure {
  std::string name;
  std::function<double(const fm::FaceQuality&)> of_face;
  bool low_is_bad;
  std::vector<double> edges;  // bucket boundaries, ascending
};

void report_measure(const PairMeasure& m, const std::vector<Pair>& pairs, double threshold) {
  auto worse = [&](const Pair& p) {
    const double a = m.of_face(p.first->quality), b = m.of_face(p.second->quality);
    return m.low_is_bad ? std::min(a, b) : std::max(a, b);
  };
  std::printf("\n%s (the pair's %s face)\n", m.name.c_str(), m.low_is_bad ? "lower" : "higher");
  // Buckets [edges[i], edges[i+1]).
  for (std::size_t i = 0; i + 1 < m.edges.size(); ++i) {
    Rate r;
    for (const auto& p : pairs)
      if (const double v = worse(p); v >= m.edges[i] && v < m.edges[i + 1]) r.add(p, threshold);
    std::printf("  [%7.2f, %7.2f)  %s\n", m.edges[i], m.edges[i + 1], r.text().c_str());
  }
  // Cumulative: the pairs beyond each cut against the rest, as a threshold would split them.
  std::printf("  cut: pairs %s it | the rest\n", m.low_is_bad ? "below" : "above");
  for (std::size_t i = 1; i + 1 < m.edges.size(); ++i) {
    Rate beyond, rest;
    for (const auto& p : pairs) {
      const double v = worse(p);
      (m.low_is_bad ? v < m.edges[i] : v >= m.edges[i]) ? beyond.add(p, threshold) : rest.add(p, threshold);
    }
    std::printf("  %7.2f  %s | %s\n", m.edges[i], beyond.text().c_str(), rest.text().c_str());
  }
}

int report(const std::string& images_csv, const std::string& distances_csv, double threshold,
           const fm::QualityThresholds& thresholds) {
  std::map<std::string, Measured> faces;
  std::size_t failed_images = 0;
  for (const auto& row : read_table(images_csv)) {
    if (row.at("status") != "ok") {
      ++failed_images;
      continue;
    }
    fm::FaceQuality q;
    q.interocular_px = std::stod(row.at("interocular_px"));
    q.sharpness = std::stod(row.at("sharpness"));
    q.yaw_deg = std::stod(row.at("yaw_deg"));
    q.pitch_deg = std::stod(row.at("pitch_deg"));
    q.roll_deg = std::stod(row.at("roll_deg"));
    q.brightness = std::stod(row.at("brightness"));
    q.contrast = std::stod(row.at("contrast"));
    q.box_outside = std::stod(row.at("box_outside"));
    q.landmarks_outside = row.at("landmarks_outside") == "1";
    faces[row.at("img")] = Measured{q};
  }
  std::vector<Pair> pairs;
  std::size_t unscored = 0;
  for (const auto& row : read_table(distances_csv)) {
    const auto a = faces.find(row.at("img1")), b = faces.find(row.at("img2"));
    if (row.at("distance").empty() || a == faces.end() || b == faces.end()) {
      ++unscored;
      continue;
    }
    pairs.push_back({&a->second, &b->second, row.at("same") == "1", std::stod(row.at("distance"))});
  }
  std::printf(
      "%zu images measured, %zu without a face; %zu pairs scored, %zu not (an image without a face)\n",
      faces.size(), failed_images, pairs.size(), unscored);
  std::printf(
      "thresholds: interocular >= %.1f px, sharpness >= %.3f, |yaw| <= %.1f, |pitch| <= %.1f, |roll| <= %.1f "
      "deg, "
      "brightness %.1f..%.1f, box outside <= %.2f; distance threshold %.4f\n\n",
      thresholds.min_interocular_px, thresholds.min_sharpness, thresholds.max_abs_yaw_deg,
      thresholds.max_abs_pitch_deg, thresholds.max_abs_roll_deg, thresholds.min_brightness,
      thresholds.max_brightness, thresholds.max_box_outside, threshold);

  Rate all, acceptable, poor;
  std::map<std::string, Rate> with_reason, without_reason, only_reason;
  const std::vector<std::string> kReasons = {"too_small", "blurred", "profile",     "tilted",
                                             "rotated",   "dark",    "overexposed", "cut_off"};
  std::map<std::string, std::size_t> faces_with_reason;
  for (const auto& [name, m] : faces)
    for (const auto& r : m.reasons(thresholds)) ++faces_with_reason[r];
  for (const auto& p : pairs) {
    all.add(p, threshold);
    const auto ra = p.first->reasons(thresholds), rb = p.second->reasons(thresholds);
    (ra.empty() && rb.empty() ? acceptable : poor).add(p, threshold);
    for (const auto& reason : kReasons) {
      const bool has = std::count(ra.begin(), ra.end(), reason) || std::count(rb.begin(), rb.end(), reason);
      (has ? with_reason : without_reason)[reason].add(p, threshold);
      // This reason and no other in either face: its effect apart from the others'.
      auto only = [&](const std::vector<std::string>& r) {
        return r.empty() || (r.size() == 1 && r[0] == reason);
      };
      if (has && only(ra) && only(rb)) only_reason[reason].add(p, threshold);
    }
  }
  std::printf("all scored pairs           %s\n", all.text().c_str());
  std::printf("both faces acceptable      %s\n", acceptable.text().c_str());
  std::printf("a face with any reason     %s\n\n", poor.text().c_str());
  std::printf("reason       faces  pairs with a face with it | pairs without it\n");
  for (const auto& reason : kReasons)
    std::printf("%-12s %5zu %s | %s\n", reason.c_str(), faces_with_reason[reason],
                with_reason[reason].text().c_str(), without_reason[reason].text().c_str());
  std::printf("\nreason alone (pairs where no face has another reason)\n");
  for (const auto& reason : kReasons)
    std::printf("%-12s %s\n", reason.c_str(), only_reason[reason].text().c_str());

  const std::vector<PairMeasure> measures = {
      {"interocular_px",
       [](const fm::FaceQuality& q) { return q.interocular_px; },
       true,
       {0, 10, 15, 20, 25, 30, 40, 60, 100, 1e9}},
      {"sharpness",
       [](const fm::FaceQuality& q) { return q.sharpness; },
       true,
       {0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 1.01}},
      {"|yaw_deg|",
       [](const fm::FaceQuality& q) { return std::abs(q.yaw_deg); },
       false,
       {0, 10, 20, 30, 35, 40, 45, 50, 60, 181}},
      {"pitch_deg (looking down)",
       [](const fm::FaceQuality& q) { return q.pitch_deg; },
       true,
       {-90, -40, -30, -25, -20, -15, -10, 0, 91}},
      {"pitch_deg (looking up)",
       [](const fm::FaceQuality& q) { return q.pitch_deg; },
       false,
       {-90, 0, 10, 15, 20, 25, 30, 40, 91}},
      {"|pitch_deg|",
       [](const fm::FaceQuality& q) { return std::abs(q.pitch_deg); },
       false,
       {0, 10, 20, 30, 40, 50, 181}},
      {"|roll_deg|",
       [](const fm::FaceQuality& q) { return std::abs(q.roll_deg); },
       false,
       {0, 5, 10, 20, 30, 45, 181}},
      {"brightness (dark)",
       [](const fm::FaceQuality& q) { return q.brightness; },
       true,
       {0, 20, 30, 40, 50, 60, 80, 256}},
      {"brightness (overexposed)",
       [](const fm::FaceQuality& q) { return q.brightness; },
       false,
       {0, 180, 200, 210, 220, 230, 240, 256}},
      {"contrast", [](const fm::FaceQuality& q) { return q.contrast; }, true, {0, 10, 20, 30, 40, 60, 256}},
      {"box_outside",
       [](const fm::FaceQuality& q) { return q.box_outside; },
       false,
       {0, 0.001, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 1.01}},
      {"landmarks_outside",
       [](const fm::FaceQuality& q) { return q.landmarks_outside ? 1.0 : 0.0; },
       false,
       {0, 1, 2}},
  };
  for (const auto& m : measures) report_measure(m, pairs, threshold);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"facematch face-quality calibration study"};
  app.require_subcommand(1);
  auto* analyse_cmd = app.add_subcommand("analyse", "Measure the quality of every image's chosen face");
  std::string models, pairs, root = ".", out;
  std::size_t threads = 1;
  std::vector<std::string> images;
  analyse_cmd->add_option("models", models, "Models folder")->required();
  analyse_cmd->add_option("images", images, "Single photos (instead of --pairs)");
  analyse_cmd->add_option("--pairs", pairs, "CSV img1,img2,same: every image in it");
  analyse_cmd->add_option("--root", root, "Folder the pairs' paths are relative to");
  analyse_cmd->add_option("--out", out, "Output CSV (default: stdout)");
  analyse_cmd->add_option("--threads", threads, "Images analysed at once");

  auto* report_cmd = app.add_subcommand("report", "Error rates per quality reason and measure");
  std::string images_csv, distances_csv;
  double threshold = fm::kDefaultThreshold;
  fm::QualityThresholds t;
  report_cmd->add_option("images_csv", images_csv, "quality_study analyse's CSV")->required();
  report_cmd->add_option("distances_csv", distances_csv, "facematch eval --distances CSV")->required();
  report_cmd->add_option("--threshold", threshold, "Distance threshold")->capture_default_str();
  report_cmd->add_option("--min-interocular", t.min_interocular_px, "")->capture_default_str();
  report_cmd->add_option("--min-sharpness", t.min_sharpness, "")->capture_default_str();
  report_cmd->add_option("--max-abs-yaw", t.max_abs_yaw_deg, "")->capture_default_str();
  report_cmd->add_option("--max-abs-pitch", t.max_abs_pitch_deg, "")->capture_default_str();
  report_cmd->add_option("--max-abs-roll", t.max_abs_roll_deg, "")->capture_default_str();
  report_cmd->add_option("--min-brightness", t.min_brightness, "")->capture_default_str();
  report_cmd->add_option("--max-brightness", t.max_brightness, "")->capture_default_str();
  report_cmd->add_option("--max-box-outside", t.max_box_outside, "")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (*analyse_cmd) return analyse(models, pairs, root, out, threads, images);
    return report(images_csv, distances_csv, threshold, t);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quality_study: %s\n", e.what());
    return 2;
  }
}
