// `facematch eval` and `calibrate` as a user runs them on the labelled photos of ../shared/faces, and
// `verify --operating-point` with the file calibrate wrote. One calibrate run is shared by the tests.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "facematch/calibrate.hpp"
#include "facematch/pipeline.hpp"
#include "test_support.hpp"

namespace {

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

CliRun run(const std::string& args) {
  const auto err_path =
      std::filesystem::temp_directory_path() / ("facematch_eval_err_" + std::to_string(::getpid()));
  const std::string command = std::string(FACEMATCH_CLI) + " " + args + " --models " +
                              facematch::testing::models_dir().string() + " 2>" + err_path.string();
  CliRun r;
  FILE* pipe = ::popen(command.c_str(), "r");
  std::array<char, 4096> buffer{};
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;)
    r.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const auto err = facematch::testing::read_bytes(err_path);
  r.err.assign(err.begin(), err.end());
  std::filesystem::remove(err_path);
  return r;
}

std::filesystem::path faces_dir() {
  const auto dir = facematch::testing::shared_dir() / "faces";
  facematch::testing::require_file(dir / "pairs.csv", "the labelled photos live in ../shared/faces");
  return dir;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("facematch_eval_" + std::to_string(::getpid()) + "_" + name);
}

struct DistanceRow {
  std::string first, second;
  bool same = false;
  double distance = 0;
};

std::vector<DistanceRow> read_distances(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<DistanceRow> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (cells.size() >= 4 && !cells[3].empty())
      rows.push_back({cells[0], cells[1], cells[2] == "1", std::stod(cells[3])});
  }
  return rows;
}

// FAR 5% of 24 impostor pairs allows k = 1 false accept: the threshold is the second smallest impostor
// distance, so the closest impostor pair (rejected at 0.6) is accepted at this operating point.
constexpr const char* kFar = "0.05";

class CalibrateSharedFaces : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new std::filesystem::path(temp_path("op.json"));
    plot_ = new std::filesystem::path(temp_path("plot.png"));
    distances_ = new std::filesystem::path(temp_path("distances.csv"));
    run_ = new CliRun(run("calibrate " + (faces_dir() / "pairs.csv").string() + " --root " +
                          faces_dir().string() + " --threads 2 --far " + kFar + " --json --out " +
                          out_->string() + " --plot " + plot_->string() + " --distances " +
                          distances_->string()));
  }
  static void TearDownTestSuite() {
    for (const auto* p : {out_, plot_, distances_}) std::filesystem::remove(*p);
    delete out_;
    delete plot_;
    delete distances_;
    delete run_;
  }
  static nlohmann::json report() {
    EXPECT_EQ(run_->exit_code, 0) << run_->err;
    return nlohmann::json::parse(run_->out);
  }

  static CliRun* run_;
  static std::filesystem::path *out_, *plot_, *distances_;
};
CliRun* CalibrateSharedFaces::run_ = nullptr;
std::filesystem::path *CalibrateSharedFaces::out_ = nullptr, *CalibrateSharedFaces::plot_ = nullptr,
                      *CalibrateSharedFaces::distances_ = nullptr;

}  // namespace

// Measured when written: the 48 pairs are separable (docs/accuracy.md), every image has a face.
TEST_F(CalibrateSharedFaces, ReportsTheExpectedCounts) {
  const auto j = report();
  EXPECT_EQ(j["pairs"], 48);
  EXPECT_EQ(j["genuine"], 24);
  EXPECT_EQ(j["impostors"], 24);
  EXPECT_EQ(j["images"], 25);
  EXPECT_EQ(j["failed_images"].size(), 0u);
  EXPECT_EQ(j["at_threshold"]["threshold"], 0.6);
  EXPECT_EQ(j["at_threshold"]["correct"], 48);
  EXPECT_EQ(j["at_threshold"]["false_accepts"], 0);
  EXPECT_EQ(j["at_threshold"]["false_rejects"], 0);
  EXPECT_DOUBLE_EQ(j["auc"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["eer"]["rate"].get<double>(), 0.0);
  // 24 impostor pairs cannot support FAR 1e-2 and below; 5% (k = 1) can.
  std::map<std::string, nlohmann::json> tar;
  for (const auto& t : j["tar_at_far"]) tar[t["name"]] = t;
  ASSERT_EQ(tar.size(), 4u);
  EXPECT_FALSE(tar["far1e-2"]["supported"]);
  EXPECT_EQ(tar["far1e-2"]["needs_impostors"], 100);
  EXPECT_FALSE(tar["far1e-4"]["supported"]);
  ASSERT_TRUE(tar["far5e-2"]["supported"]);
  EXPECT_EQ(tar["far5e-2"]["false_accepts"], 1);
  EXPECT_EQ(tar["far5e-2"]["true_accepts"], 24);
}

TEST_F(CalibrateSharedFaces, WritesAnOperatingPointFileWithItsProvenance) {
  report();
  const auto j = facematch::testing::read_json(*out_);
  EXPECT_EQ(j["format"], "facematch-operating-points");
  EXPECT_EQ(j["default"], "far5e-2");
  EXPECT_EQ(j["align"], "similarity");
  EXPECT_EQ(j["detector"], "cascade");
  EXPECT_EQ(j["provenance"]["pairs"], 48);
  const auto csv = facematch::testing::read_bytes(faces_dir() / "pairs.csv");
  EXPECT_EQ(j["provenance"]["csv_sha256"], facematch::testing::sha256_hex(csv.data(), csv.size()));
  ASSERT_EQ(j["operating_points"].size(), 2u);  // far5e-2 and best-accuracy
  EXPECT_EQ(j["operating_points"][1]["name"], "best-accuracy");
}

TEST_F(CalibrateSharedFaces, VerifyWithTheWrittenPointChangesTheDecision) {
  report();
  auto rows = read_distances(*distances_);
  ASSERT_EQ(rows.size(), 48u);
  std::vector<DistanceRow> impostors;
  for (const auto& r : rows)
    if (!r.same) impostors.push_back(r);
  std::sort(impostors.begin(), impostors.end(),
            [](const auto& a, const auto& b) { return a.distance < b.distance; });
  const auto& closest = impostors[0];
  const double threshold = facematch::testing::read_json(*out_)["operating_points"][0]["threshold"];
  EXPECT_NEAR(threshold, impostors[1].distance, 1e-6);  // the CSV has 7 decimals
  ASSERT_GT(closest.distance, 0.6);
  ASSERT_LT(closest.distance, threshold);

  const std::string pair =
      (faces_dir() / closest.first).string() + " " + (faces_dir() / closest.second).string();
  EXPECT_EQ(run("verify " + pair).exit_code, 1);
  const auto with_point = run("verify --json --operating-point " + out_->string() + " " + pair);
  ASSERT_EQ(with_point.exit_code, 0) << with_point.err;
  const auto j = nlohmann::json::parse(with_point.out);
  EXPECT_EQ(j["match"], "Yes");
  EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), threshold);
  EXPECT_EQ(j["operating_point"]["name"], "far5e-2");
  EXPECT_EQ(j["operating_point"]["source"], out_->string());
  // verify --json states the pipeline it ran, as the file records the one it was fitted under.
  EXPECT_EQ(j["fingerprint"], facematch::testing::read_json(*out_)["fingerprint"]);
  EXPECT_EQ(j["pipeline"], facematch::testing::read_json(*out_)["pipeline"]);
  // eval and verify run the nets at other batch sizes and thread counts, which on AVX2 changes oneDNN's
  // summation order: 1.2e-5 apart measured there (under 1e-6 on AVX-512).
  EXPECT_NEAR(j["distance"].get<double>(), closest.distance, 1e-4);

  // The text answer names the point too, and FILE:NAME picks another point of the file.
  const auto text = run("verify --operating-point " + out_->string() + ":best-accuracy " + pair);
  EXPECT_EQ(text.exit_code, 1) << text.err;
  EXPECT_NE(text.out.find("operating point best-accuracy"), std::string::npos) << text.out;
  // Thresholds fitted on one alignment are refused for the other.
  const auto other = run("verify --align faceapi --operating-point " + out_->string() + " " + pair);
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("--align similarity"), std::string::npos) << other.err;
  // So are thresholds fitted with flip averaging (the default) for descriptors without it.
  const auto unflipped = run("verify --no-flip-average --operating-point " + out_->string() + " " + pair);
  EXPECT_EQ(unflipped.exit_code, 2);
  EXPECT_NE(unflipped.err.find("--flip-average"), std::string::npos) << unflipped.err;
}

// Fitting lives in the library (calibrate.hpp): run in-process on the same pairs under the CLI's default
// pipeline, it gives the thresholds the CLI wrote, and the file and the report record that pipeline.
TEST_F(CalibrateSharedFaces, LibraryCalibrationGivesTheCliThresholds) {
  const auto j = report();
  const auto file = facematch::testing::read_json(*out_);
  auto options = facematch::recommended_pipeline();
  options.face_policy = facematch::FacePolicy::best_match;  // verify's default, which calibrate shares
  EXPECT_EQ(file["pipeline"], facematch::to_json(options));
  EXPECT_EQ(file["fingerprint"], facematch::pipeline_fingerprint(options));
  EXPECT_EQ(j["pipeline"], file["pipeline"]);
  EXPECT_EQ(j["fingerprint"], file["fingerprint"]);

  const auto set = facematch::read_pair_set(faces_dir() / "pairs.csv", faces_dir(), std::nullopt);
  const facematch::Verifier verifier(facematch::testing::shared_models(), 2);
  const double fars[] = {std::stod(kFar)};
  const auto measured =
      facematch::measure_pair_set(verifier, set, options, facematch::kDefaultThreshold, fars, 2);
  const auto points = facematch::fit_operating_points(set, measured, options, fars);
  ASSERT_EQ(points.points.size(), file["operating_points"].size());
  for (std::size_t i = 0; i < points.points.size(); ++i) {
    const auto& written = file["operating_points"][i];
    EXPECT_EQ(points.points[i].name, written["name"]);
    EXPECT_NEAR(points.points[i].threshold, written["threshold"].get<double>(), 1e-6)
        << points.points[i].name;
    EXPECT_EQ(points.points[i].false_accepts, written["false_accepts"]);
    EXPECT_EQ(points.points[i].true_accepts, written["true_accepts"]);
  }
  EXPECT_EQ(points.fingerprint, file["fingerprint"]);
  EXPECT_NO_THROW(points.check_pipeline(options));
}

TEST_F(CalibrateSharedFaces, PlotIsAValidPng) {
  report();
  const auto bytes = facematch::testing::read_bytes(*plot_);
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(std::string(bytes.begin() + 1, bytes.begin() + 4), "PNG");
  const cv::Mat img = cv::imread(plot_->string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 1200);
  EXPECT_EQ(img.rows, 520);
  // Not blank: the genuine histogram (green) and the impostor histogram (red) are drawn.
  std::size_t green = 0, red = 0;
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x) {
      const auto p = img.at<cv::Vec3b>(y, x);
      green += p[1] > 120 && p[0] < 80 && p[2] < 80;
      red += p[2] > 180 && p[0] < 80 && p[1] < 80;
    }
  EXPECT_GT(green, 200u);
  EXPECT_GT(red, 200u);
}

TEST(EvalCli, FailedImagesAreListedAndCountedPerGroup) {
  const auto csv = temp_path("small.csv");
  std::ofstream(csv) << "img1,img2,same,group\n"
                        "obama_1.jpg,obama_2.jpg,1,a\n"
                        "noface_grass.jpg,obama_1.jpg,0,a\n"
                        "biden_1.jpg,obama_1.jpg,0,b\n";
  const auto r = run("eval " + csv.string() + " --root " + faces_dir().string() + " --threads 2");
  std::filesystem::remove(csv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("3 pairs (1 genuine, 2 impostor), 4 images"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("failed images: 1 -> 1 pairs not scored (0 genuine, 1 impostor)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("accuracy 66.67% of all pairs, 100.00% of 2 scored"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("failed: noface_grass.jpg: no_face"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FAR 1e-2    n/a (1 impostor pairs scored, needs at least 100)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("per group"), std::string::npos) << r.out;
}

TEST(EvalCli, BadRowIsAnErrorNamingTheLine) {
  const auto csv = temp_path("bad.csv");
  std::ofstream(csv) << "img1,img2,same\nobama_1.jpg,obama_2.jpg,1\nobama_1.jpg,biden_1.jpg,maybe\n";
  const auto r = run("eval " + csv.string() + " --root " + faces_dir().string());
  std::filesystem::remove(csv);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'maybe'"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(EvalCli, CalibrateRefusesAFarTheDataCannotSupport) {
  const auto csv = temp_path("two.csv");
  std::ofstream(csv) << "img1,img2,same\nobama_1.jpg,obama_2.jpg,1\nbiden_1.jpg,obama_1.jpg,0\n";
  const auto out = temp_path("never.json");
  const auto r = run("calibrate " + csv.string() + " --root " + faces_dir().string() + " --far 1e-3 --out " +
                     out.string());
  std::filesystem::remove(csv);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("needs at least 1000 scored impostor pairs"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

// Without --root the CSV's paths are relative to its own folder (they were relative to the working
// directory: every image failed and the report was a row of zeros, exit 0).
TEST(EvalCli, RootDefaultsToTheCsvFolderAndAucIsNaWithoutImpostors) {
  const auto dir = temp_path("root");
  std::filesystem::create_directories(dir);
  for (const char* name : {"obama_1.jpg", "obama_2.jpg"})
    std::filesystem::create_symlink(faces_dir() / name, dir / name);
  std::ofstream(dir / "pairs.csv") << "img1,img2,same\nobama_1.jpg,obama_2.jpg,1\n";
  const auto text = run("eval " + (dir / "pairs.csv").string() + " --threads 1");
  const auto json = run("eval --json " + (dir / "pairs.csv").string() + " --threads 1");
  std::filesystem::remove_all(dir);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("failed images: 0"), std::string::npos) << text.out;
  // One genuine pair and no impostor: AUC and EER are undefined, not 0.
  EXPECT_NE(text.out.find("ROC AUC n/a, EER n/a"), std::string::npos) << text.out;
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_TRUE(j["auc"].is_null()) << j["auc"];
  EXPECT_TRUE(j["eer"].is_null()) << j["eer"];
  EXPECT_EQ(j["at_threshold"]["correct"], 1);
}

TEST(EvalCli, MissingImagesStopTheRunBeforeAnyWork) {
  const auto csv = temp_path("missing.csv");
  std::ofstream(csv) << "img1,img2,same\nobama_1.jpg,obama_2.jpg,1\nobama_1.jpg,not_there.jpg,0\n";
  auto r = run("eval " + csv.string() + " --root " + faces_dir().string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("1 image(s) of " + csv.string() +
                       " are missing: " + (faces_dir() / "not_there.jpg").string()),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // no progress line: nothing ran
  EXPECT_TRUE(r.out.empty()) << r.out;
  // The CSV's own folder (the temp folder) holds none of them.
  r = run("eval " + csv.string());
  std::filesystem::remove(csv);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("3 image(s)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("relative to the CSV's folder; --root sets another"), std::string::npos) << r.err;
}
