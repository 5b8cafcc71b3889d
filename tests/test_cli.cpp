// The facematch command as a user runs it: exit codes, output and error lines.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <tuple>

#include "engine/executor.hpp"
#include "facematch/models.hpp"
#include "models/model_registry.hpp"
#include "test_support.hpp"

namespace {

struct Run {
  int exit_code;
  std::string out, err;
};

Run run(const std::string& args) {
  const auto err_path =
      std::filesystem::temp_directory_path() / ("facematch_cli_err_" + std::to_string(::getpid()));
  const std::string command = std::string(FACEMATCH_CLI) + " " + args + " --models " +
                              facematch::testing::models_dir().string() + " 2>" + err_path.string();
  Run r;
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

std::string face(const std::string& name) {
  const auto path = facematch::testing::shared_dir() / "faces" / name;
  facematch::testing::require_file(path, "../shared/faces");
  return path.string();
}

}  // namespace

TEST(Cli, SamePersonExitsZeroAndSaysYes) {
  const auto r = run("verify " + face("obama_1.jpg") + " " + face("obama_2.jpg"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Yes", 0), 0u) << r.out;
}

TEST(Cli, DifferentPeopleExitOneAndSayNo) {
  const auto r = run("verify " + face("obama_1.jpg") + " " + face("biden_1.jpg"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out.rfind("No", 0), 0u) << r.out;
}

TEST(Cli, JsonHasTheDocumentedFields) {
  const auto r = run("verify --json --align faceapi " + face("biden_1.jpg") + " " + face("biden_2.jpg"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // similarity and facial_areas, as the service answers (they were missing here).
  for (const char* key : {"verified", "match", "distance", "threshold", "similarity", "model", "detector",
                          "img1", "img2", "facial_areas", "time_ms"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_GT(j["similarity"].get<double>(), 0.5);
  for (const char* img : {"img1", "img2"})
    EXPECT_EQ(j["facial_areas"][img], j[img]["faces"][j[img]["chosen_face"].get<std::size_t>()]["box"])
        << img;
  EXPECT_EQ(j["match"], "Yes");
  EXPECT_EQ(j["align"], "faceapi");
  EXPECT_EQ(j["threshold"], 0.6);
  EXPECT_GE(j["img1"]["faces"].size(), 1u);
  EXPECT_EQ(j["img1"]["faces"][0]["landmarks"].size(), 68u);
  EXPECT_GT(j["time_ms"]["img1"]["detect"].get<double>(), 0);
}

// --precision int8 gives the verdicts of the default precision, says that it ran, and its distances
// stay close to those of auto.
TEST(Cli, Int8PrecisionKeepsTheVerdicts) {
  if (!facematch::engine::cpu_has_native_int8()) GTEST_SKIP() << "no VNNI/AMX: int8 is refused here";
  for (const auto& [a, b, verdict] :
       {std::tuple{"obama_1.jpg", "obama_2.jpg", "Yes"}, std::tuple{"obama_1.jpg", "biden_1.jpg", "No"}}) {
    const auto automatic = run("verify --json " + face(a) + " " + face(b));
    const auto int8 = run("verify --json --precision int8 " + face(a) + " " + face(b));
    ASSERT_EQ(int8.exit_code, automatic.exit_code) << int8.err;
    const auto ja = nlohmann::json::parse(automatic.out), ji = nlohmann::json::parse(int8.out);
    EXPECT_EQ(ji["match"], verdict);
    EXPECT_EQ(ji["precision"], "int8");
    EXPECT_NEAR(ji["distance"].get<double>(), ja["distance"].get<double>(), 0.04) << a << " " << b;
  }
}

// `info` names the CPU and its instruction set and, per net, the precision it runs in: under auto one of
// its candidates, with a time for each when it had a choice (measured, or read from the cache the first
// run wrote); a forced precision is what runs.
TEST(Cli, InfoReportsEachNetsPrecision) {
  const auto first = run("info --json --threads 1");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto j = nlohmann::json::parse(first.out);
  EXPECT_EQ(j.at("isa"), facematch::engine::cpu_isa_name());
  EXPECT_EQ(j.at("threads"), 1);
  EXPECT_EQ(j.at("precision"), "auto");
  EXPECT_TRUE(j.at("precision_cache").is_string());
  const auto& nets = j.at("nets");
  ASSERT_EQ(nets.size(), facematch::models::model_registry().size()) << nets.dump();
  for (const auto& [net, choice] : nets.items()) {
    const auto candidates = facematch::auto_candidates(net);
    const auto ran = facematch::parse_precision(choice.at("precision").get<std::string>());
    EXPECT_NE(std::find(candidates.begin(), candidates.end(), ran), candidates.end()) << net;
    EXPECT_EQ(choice.contains("measured_ms"), candidates.size() > 1) << net;
  }
  const auto again = nlohmann::json::parse(run("info --json --threads 1").out);
  for (const auto& [net, choice] : again.at("nets").items()) {
    EXPECT_EQ(choice.at("precision"), nets.at(net).at("precision")) << net;
    if (choice.contains("measured_ms")) {
      EXPECT_TRUE(choice.at("from_cache").get<bool>()) << net;
    }
  }
  const auto fp32 = run("info --precision fp32");
  ASSERT_EQ(fp32.exit_code, 0) << fp32.err;
  EXPECT_NE(fp32.out.find("face_recognition_model         fp32"), std::string::npos) << fp32.out;
  EXPECT_EQ(fp32.out.find("(measured now)"), std::string::npos) << fp32.out;
}

TEST(Cli, ThresholdChangesTheVerdict) {
  const auto r = run("verify --threshold 0.05 " + face("obama_1.jpg") + " " + face("obama_2.jpg"));
  EXPECT_EQ(r.exit_code, 1);
}

TEST(Cli, NoFaceIsExitTwoWithOneLine) {
  const auto r = run("verify " + face("noface_grass.jpg") + " " + face("obama_1.jpg"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no_face"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("noface_grass.jpg"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Cli, BrokenAndMissingFilesAreExitTwo) {
  auto r = run("verify " + face("corrupt_broken.jpg") + " " + face("obama_1.jpg"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad_image"), std::string::npos) << r.err;
  r = run("verify /nonexistent/a.jpg " + face("obama_1.jpg"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/a.jpg"), std::string::npos) << r.err;
}

TEST(Cli, BadOptionIsExitTwo) {
  EXPECT_EQ(run("verify --detector nope " + face("obama_1.jpg") + " " + face("obama_2.jpg")).exit_code, 2);
  EXPECT_EQ(run("verify " + face("obama_1.jpg")).exit_code, 2);
  EXPECT_EQ(run("verify --face-policy error " + face("multi_obama_biden.jpg") + " " + face("obama_1.jpg"))
                .exit_code,
            2);
}

TEST(Cli, EmbedPrintsOneTaggedLinePerImage) {
  const auto r = run("embed " + face("obama_1.jpg") + " " + face("multi_obama_biden.jpg"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::stringstream lines(r.out);
  std::string line;
  std::vector<nlohmann::json> parsed;
  while (std::getline(lines, line)) parsed.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0]["model"], "face-api-1.7.15/face_recognition_model");
  EXPECT_EQ(parsed[0]["faces"][0]["descriptor"].size(), 128u);
  EXPECT_GE(parsed[1]["faces"].size(), 2u);
}

TEST(Cli, DetectDrawsFaces) {
  const auto out =
      std::filesystem::temp_directory_path() / ("facematch_draw_" + std::to_string(::getpid()) + ".jpg");
  const auto r = run("detect --json --draw " + out.string() + " " + face("multi_four_people.jpg"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(nlohmann::json::parse(r.out)["faces"].size(), 4u);
  const cv::Mat drawn = cv::imread(out.string());
  EXPECT_FALSE(drawn.empty());
  std::filesystem::remove(out);
}

TEST(Cli, RecallOptionsReachTheDetector) {
  // The dark photo has a face that face-api's detectors miss; the low-light retry (on by default) finds it.
  for (const char* detector : {"ssd", "cascade"}) {
    const auto plain = run(std::string("detect --json --no-retry-low-light --detector ") + detector + " " +
                           face("lowlight_1.jpg"));
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_EQ(nlohmann::json::parse(plain.out)["faces"].size(), 0u) << detector;
  }
  const auto by_default = run("detect --json " + face("lowlight_1.jpg"));
  ASSERT_EQ(by_default.exit_code, 0) << by_default.err;
  EXPECT_EQ(nlohmann::json::parse(by_default.out)["faces"].size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(by_default.out)["detector"], "ssd");  // detect lists every face
  EXPECT_EQ(run("detect --tile-min-side -1 " + face("lowlight_1.jpg")).exit_code, 2);
}

TEST(Cli, EveryFaceHasItsQualityAndMinQualityRefusesAPoorOne) {
  const auto detect = run("detect --json " + face("lowlight_1.jpg"));
  ASSERT_EQ(detect.exit_code, 0) << detect.err;
  const auto j = nlohmann::json::parse(detect.out);
  ASSERT_EQ(j["faces"].size(), 1u) << detect.out;
  const auto& quality = j["faces"][0]["quality"];
  EXPECT_GT(quality["interocular_px"].get<double>(), 100) << quality;
  EXPECT_EQ(quality["reasons"], nlohmann::json::array({"dark"})) << quality;

  // Advice by default: the verdict is given; --min-quality makes the dark face an error naming it.
  const auto advised = run("verify " + face("lowlight_1.jpg") + " " + face("obama_1.jpg"));
  EXPECT_EQ(advised.exit_code, 1) << advised.err;
  const auto refused = run("verify --min-quality " + face("lowlight_1.jpg") + " " + face("obama_1.jpg"));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(
      refused.err.find("low_quality: " + face("lowlight_1.jpg") + ": the face's quality is too poor (dark)"),
      std::string::npos)
      << refused.err;
  // A good face passes the same requirement.
  const auto good = run("verify --min-quality " + face("obama_1.jpg") + " " + face("obama_2.jpg"));
  EXPECT_EQ(good.exit_code, 0) << good.err;
}

TEST(Cli, VerifyFindsThePersonAmongTheFacesOfAGroupPhotoAndSaysWhichFace) {
  // Biden is the smaller of the two faces: the largest-face rule compared Obama and said No silently.
  const auto r = run("verify --json " + face("biden_1.jpg") + " " + face("multi_obama_biden.jpg"));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["face_policy"], "best_match");
  const auto& faces = j["img2"]["faces"];
  ASSERT_EQ(faces.size(), 2u);
  const auto chosen = j["img2"]["chosen_face"].get<std::size_t>();
  EXPECT_LT(faces[chosen]["distance"].get<double>(), 0.6);
  EXPECT_GT(faces[1 - chosen]["distance"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(j["distance"].get<double>(), faces[chosen]["distance"].get<double>());
  ASSERT_EQ(j["warnings"].size(), 1u) << j;
  EXPECT_EQ(j["warnings"][0],
            "img2 has 2 faces; face " + std::to_string(chosen) + " (the closest match) was compared");

  const auto largest =
      run("verify --json --face-policy largest " + face("biden_1.jpg") + " " + face("multi_obama_biden.jpg"));
  EXPECT_EQ(largest.exit_code, 1) << largest.err;
  EXPECT_EQ(nlohmann::json::parse(largest.out)["warnings"][0],
            "img2 has 2 faces; face " + std::to_string(1 - chosen) + " (largest) was compared");
}

namespace {

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::stringstream lines(text);
  std::vector<nlohmann::json> parsed;
  for (std::string line; std::getline(lines, line);) parsed.push_back(nlohmann::json::parse(line));
  return parsed;
}

}  // namespace

// A batch goes on past a bad photo: one line per input in order, a failure as its file and the error
// shape, and the exit status says that one failed. It stopped at the first failure, unnamed.
TEST(Cli, EmbedGoesOnPastAFailedImageAndNamesIt) {
  const auto r = run("embed " + face("obama_1.jpg") + " " + face("noface_grass.jpg") + " " +
                     face("corrupt_broken.jpg") + " " + face("obama_2.jpg"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0]["image"], face("obama_1.jpg"));
  EXPECT_EQ(lines[0]["faces"][0]["descriptor"].size(), 128u);
  // The image's size, as every other answer gives it (embed had none).
  const auto photo = cv::imread(face("obama_1.jpg"));
  EXPECT_EQ(lines[0]["width"], photo.cols);
  EXPECT_EQ(lines[0]["height"], photo.rows);
  EXPECT_EQ(lines[1]["image"], face("noface_grass.jpg"));
  EXPECT_EQ(lines[1]["error"]["code"], "no_face") << lines[1];
  EXPECT_EQ(lines[1]["error"]["image"], face("noface_grass.jpg")) << lines[1];
  EXPECT_FALSE(lines[1]["error"]["message"].get<std::string>().empty());
  EXPECT_EQ(lines[2]["image"], face("corrupt_broken.jpg"));
  EXPECT_EQ(lines[2]["error"]["code"], "bad_image") << lines[2];
  EXPECT_EQ(lines[3]["image"], face("obama_2.jpg"));
  EXPECT_EQ(lines[3]["faces"][0]["descriptor"].size(), 128u);
  // Each failure also has its stderr line, naming the file.
  EXPECT_NE(r.err.find("no_face: " + face("noface_grass.jpg")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad_image: " + face("corrupt_broken.jpg")), std::string::npos) << r.err;
  EXPECT_EQ(run("embed " + face("obama_1.jpg") + " " + face("obama_2.jpg")).exit_code, 0);
}

TEST(Cli, DetectNamesTheFileThatFailed) {
  const auto r = run("detect " + face("corrupt_broken.jpg"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad_image: " + face("corrupt_broken.jpg") + ": "), std::string::npos) << r.err;
}

// JSON consumers read stdout: an error there is the error object (exit 2 and the stderr line stay).
TEST(Cli, JsonErrorsArePrintedOnStdout) {
  auto r = run("verify --json " + face("noface_grass.jpg") + " " + face("obama_1.jpg"));
  EXPECT_EQ(r.exit_code, 2);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["code"], "no_face") << r.out;
  EXPECT_NE(j["error"]["message"].get<std::string>().find("noface_grass.jpg"), std::string::npos) << r.out;
  EXPECT_EQ(j["error"]["image"], face("noface_grass.jpg")) << r.out;  // the file at fault, as a field
  EXPECT_NE(r.err.find("no_face"), std::string::npos) << r.err;
  r = run("detect --json " + face("corrupt_broken.jpg"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(nlohmann::json::parse(r.out)["error"]["code"], "bad_image") << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["error"]["image"], face("corrupt_broken.jpg")) << r.out;
}

// An output format OpenCV cannot write is refused before any work, as a bad argument (it was an
// `internal` error after detection).
TEST(Cli, DrawChecksTheExtensionFirst) {
  const auto out =
      std::filesystem::temp_directory_path() / ("facematch_draw_" + std::to_string(::getpid()) + ".xyz");
  const auto r = run("detect --draw " + out.string() + " " + face("obama_1.jpg"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("invalid_argument: --draw " + out.string()), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;  // no face was listed: nothing ran
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(Cli, HelpReadsPlainly) {
  const auto verify = run("verify --help");
  EXPECT_EQ(verify.exit_code, 0);
  EXPECT_EQ(verify.out.find("{false}"), std::string::npos) << verify.out;
  for (const char* flag :
       {"--retry-low-light", "--no-retry-low-light", "--flip-average", "--no-flip-average"})
    EXPECT_NE(verify.out.find(flag), std::string::npos) << flag;
  EXPECT_NE(run("serve --help").out.find("error, critical or off"), std::string::npos);
  EXPECT_NE(run("embed --help").out.find("always prints JSON"), std::string::npos);
  // The off switches still switch off: the dark photo's face is found only by the retry.
  const auto off = run("detect --json --no-retry-low-light --detector ssd " + face("lowlight_1.jpg"));
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(nlohmann::json::parse(off.out)["faces"].size(), 0u);
}

// Distances between two faces stay under 2; a threshold at or above it accepts every pair.
TEST(Cli, ThresholdsOutsideTheDistanceRangeAreRefused) {
  for (const char* t : {"5", "2", "0", "-0.1"}) {
    const auto r =
        run(std::string("verify --threshold ") + t + " " + face("obama_1.jpg") + " " + face("biden_1.jpg"));
    EXPECT_EQ(r.exit_code, 2) << t;
    EXPECT_NE(r.err.find("--threshold must be above 0 and below 2"), std::string::npos) << t << ": " << r.err;
  }
  EXPECT_EQ(run("verify --threshold 1.9 " + face("obama_1.jpg") + " " + face("biden_1.jpg")).exit_code, 0);
}

// A command that lists faces finds them all by default: the cascade (verify's default) stops at the
// faces tiny is sure of and listed 2-4 of this crowd; SSD with tiles lists over 200 (docs/interfaces.md).
TEST(Cli, DetectListsEveryFaceOfACrowdByDefault) {
  const auto by_default = run("detect --json " + face("multi_crowd_tiny_faces.jpg"));
  ASSERT_EQ(by_default.exit_code, 0) << by_default.err;
  const auto j = nlohmann::json::parse(by_default.out);
  EXPECT_EQ(j["detector"], "ssd");
  EXPECT_GT(j["faces"].size(), 200u);
  // The cascade alone stops at the faces tiny is sure of; its doubt band (tiny's faces from 0.3 up) lets
  // SSD with tiles look too, which finds the crowd.
  const auto sure_only =
      run("detect --json --detector cascade --cascade-doubt-score 0 " + face("multi_crowd_tiny_faces.jpg"));
  ASSERT_EQ(sure_only.exit_code, 0) << sure_only.err;
  EXPECT_LT(nlohmann::json::parse(sure_only.out)["faces"].size(), 20u);
  const auto cascade = run("detect --json --detector cascade " + face("multi_crowd_tiny_faces.jpg"));
  ASSERT_EQ(cascade.exit_code, 0) << cascade.err;
  EXPECT_GT(nlohmann::json::parse(cascade.out)["faces"].size(), 200u);
  // verify's pipeline is not changed by it.
  const auto v = run("verify --json " + face("obama_1.jpg") + " " + face("obama_2.jpg"));
  EXPECT_EQ(nlohmann::json::parse(v.out)["detector"], "cascade");
}
