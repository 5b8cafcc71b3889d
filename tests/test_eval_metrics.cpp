// The evaluation metrics on hand-made (distance, same) data whose answers are known exactly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/evaluate.hpp"
#include "facematch/operating_point.hpp"
#include "facematch/pipeline.hpp"

namespace fm = facematch;

namespace {

std::vector<fm::ScoredPair> pairs(std::vector<double> genuine, std::vector<double> impostor) {
  std::vector<fm::ScoredPair> out;
  for (const double d : genuine) out.push_back({d, true});
  for (const double d : impostor) out.push_back({d, false});
  return out;
}

// Genuine 0.1 0.2 0.3 0.7, impostor 0.5 0.8 0.9 1.0: one genuine pair (0.7) lies above one impostor (0.5).
const auto kOverlap = pairs({0.1, 0.2, 0.3, 0.7}, {0.5, 0.8, 0.9, 1.0});

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(EvalMetrics, AccuracyCountsAcceptsBelowTheThreshold) {
  const auto acc = fm::accuracy_at(kOverlap, 0.6);
  EXPECT_EQ(acc.scored, 8u);
  EXPECT_EQ(acc.correct, 6u);
  EXPECT_EQ(acc.false_accepts, 1u);  // 0.5
  EXPECT_EQ(acc.false_rejects, 1u);  // 0.7
  // A pair at exactly the threshold is rejected, as in verify.
  EXPECT_EQ(fm::accuracy_at(pairs({0.5}, {}), 0.5).false_rejects, 1u);
}

TEST(EvalMetrics, SeparableDataHasAucOneAndZeroEer) {
  const auto sep = pairs({0.1, 0.2, 0.3}, {0.6, 0.7});
  EXPECT_DOUBLE_EQ(fm::roc_auc(sep).value(), 1.0);
  const auto eer = fm::equal_error_rate(sep);
  EXPECT_DOUBLE_EQ(eer.rate, 0.0);
  EXPECT_DOUBLE_EQ(eer.threshold, 0.45);
  EXPECT_DOUBLE_EQ(fm::best_accuracy_threshold(sep), 0.45);
  EXPECT_EQ(fm::accuracy_at(sep, 0.45).correct, 5u);
}

TEST(EvalMetrics, AucIsTheShareOfGenuineImpostorOrderings) {
  // 16 genuine x impostor orderings; only (0.7, 0.5) is wrong.
  EXPECT_DOUBLE_EQ(fm::roc_auc(kOverlap).value(), 15.0 / 16.0);
  // Ties count half.
  EXPECT_DOUBLE_EQ(fm::roc_auc(pairs({0.5}, {0.5})).value(), 0.5);
  EXPECT_DOUBLE_EQ(fm::roc_auc(pairs({0.9}, {0.1})).value(), 0.0);
  // Undefined without impostors or without genuine pairs, not 0 (which would read as the worst ranking).
  EXPECT_FALSE(fm::roc_auc(pairs({0.1}, {})).has_value());
  EXPECT_FALSE(fm::roc_auc(pairs({}, {0.1})).has_value());
}

TEST(EvalMetrics, EerWhereFarMeetsFrr) {
  // Between 0.5 and 0.7: FAR 1/4 (0.5 accepted), FRR 1/4 (0.7 rejected).
  const auto eer = fm::equal_error_rate(kOverlap);
  EXPECT_DOUBLE_EQ(eer.rate, 0.25);
  EXPECT_DOUBLE_EQ(eer.threshold, 0.6);
}

TEST(EvalMetrics, BestAccuracyThresholdIsTheLowestPeak) {
  // Accuracy 6/8 both between 0.3 and 0.5 and between 0.7 and 0.8; the lowest wins.
  EXPECT_DOUBLE_EQ(fm::best_accuracy_threshold(kOverlap), 0.4);
  EXPECT_DOUBLE_EQ(fm::best_accuracy_threshold({}), fm::kDefaultThreshold);
}

TEST(EvalMetrics, RocRunsFromNothingToEverythingAccepted) {
  const auto roc = fm::roc_curve(pairs({0.1, 0.2}, {0.2, 0.4}));
  ASSERT_EQ(roc.size(), 4u);  // before 0.1, after 0.1, after the 0.2 tie, after 0.4
  EXPECT_DOUBLE_EQ(roc[0].threshold, 0.1);
  EXPECT_DOUBLE_EQ(roc[0].tar, 0);
  EXPECT_DOUBLE_EQ(roc[1].threshold, 0.15);
  EXPECT_DOUBLE_EQ(roc[1].tar, 0.5);
  EXPECT_DOUBLE_EQ(roc[2].far, 0.5);  // the tie moves both together
  EXPECT_DOUBLE_EQ(roc[2].tar, 1.0);
  EXPECT_DOUBLE_EQ(roc[3].far, 1.0);
}

TEST(EvalMetrics, TarAtFarUsesTheKPlusFirstImpostor) {
  // 10 impostors at 0.50 .. 0.59, genuine spread across them.
  std::vector<double> impostor;
  for (int i = 0; i < 10; ++i) impostor.push_back(0.50 + 0.01 * i);
  const auto data = pairs({0.1, 0.505, 0.515, 0.525, 0.9}, impostor);
  // FAR 0.1 allows k = 1 false accept: threshold = 2nd smallest impostor (0.51).
  const auto t = fm::tar_at_far(data, 0.1);
  ASSERT_TRUE(t.supported);
  EXPECT_DOUBLE_EQ(t.threshold, 0.51);
  EXPECT_EQ(t.false_accepts, 1u);
  EXPECT_DOUBLE_EQ(t.far, 0.1);
  EXPECT_EQ(t.true_accepts, 2u);  // 0.1 and 0.505
  EXPECT_DOUBLE_EQ(t.tar, 0.4);
  EXPECT_EQ(t.impostors, 10u);
  // FAR 0.25 allows k = floor(2.5) = 2.
  EXPECT_DOUBLE_EQ(fm::tar_at_far(data, 0.25).threshold, 0.52);
  // FAR 0.05 would need 20 impostors: n/a rather than a threshold that only shows FAR < 1/10.
  EXPECT_FALSE(fm::tar_at_far(data, 0.05).supported);
  // Exactly 1/FAR impostors is enough (floating point must not round k down to 0).
  std::vector<double> thousand(1000, 1.0);
  thousand[0] = 0.2;
  const auto t3 = fm::tar_at_far(pairs({0.1}, thousand), 1e-3);
  ASSERT_TRUE(t3.supported);
  EXPECT_DOUBLE_EQ(t3.threshold, 1.0);
  EXPECT_THROW(fm::tar_at_far(data, 0), fm::Error);
}

TEST(EvalMetrics, CsvBadRowNamesTheLine) {
  const auto path = write_temp("pairs_bad.csv", "img1,img2,same\na.jpg,b.jpg,1\nc.jpg,d.jpg,yes\n");
  try {
    fm::read_pairs_csv(path);
    FAIL() << "no error";
  } catch (const fm::Error& e) {
    EXPECT_EQ(e.code(), fm::ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'yes'"), std::string::npos) << e.what();
  }
  const auto short_row = write_temp("pairs_short.csv", "img1,img2,same\na.jpg,b.jpg\n");
  EXPECT_THROW(fm::read_pairs_csv(short_row), fm::Error);
  std::filesystem::remove(path);
  std::filesystem::remove(short_row);
}

TEST(EvalMetrics, GroupsFromColumnOrTopFolder) {
  const auto with_column = write_temp("pairs_groups.csv", "img1,img2,same,group\na,b,1,lfw\nc,d,0,celeba\n");
  const auto p = fm::read_pairs_csv(with_column);
  EXPECT_EQ(fm::pair_groups(p), (std::vector<std::string>{"lfw", "celeba"}));
  std::filesystem::remove(with_column);

  std::vector<fm::LabelledPair> folders = {{"x/1.jpg", "x/2.jpg", true, ""},
                                           {"y/1.jpg", "x/3.jpg", false, ""}};
  EXPECT_EQ(fm::pair_groups(folders), (std::vector<std::string>{"x", "(across folders)"}));
  // One shared top folder: no breakdown.
  folders[1].first = "x/9.jpg";
  EXPECT_TRUE(fm::pair_groups(folders).empty());
}

TEST(OperatingPoints, NamesFollowTheTargetFar) {
  EXPECT_EQ(fm::operating_point_name(1e-3), "far1e-3");
  EXPECT_EQ(fm::operating_point_name(0.01), "far1e-2");
  EXPECT_EQ(fm::operating_point_name(2.5e-4), "far2.5e-4");
  EXPECT_EQ(fm::operating_point_name(0.05), "far5e-2");
}

TEST(OperatingPoints, SaveLoadRoundTripAndLookup) {
  fm::OperatingPoints points;
  points.model = fm::kEmbeddingModelId;
  points.detector = "ssd";
  points.align = "similarity";
  points.points.push_back({"far1e-2", 0.55, 0.01, 0.9, 0.0099, 90, 100, 99, 10000});
  points.points.push_back({"best-accuracy", 0.58, std::nullopt, 0.95, 0.02, 95, 100, 200, 10000});
  points.default_point = "far1e-2";
  points.provenance = {{"csv", "pairs.csv"}};
  const auto path = std::filesystem::temp_directory_path() / ("op_" + std::to_string(::getpid()) + ".json");
  fm::save_operating_points(points, path);
  const auto loaded = fm::load_operating_points(path);
  EXPECT_EQ(loaded.origin, path.string());
  EXPECT_DOUBLE_EQ(loaded.threshold_for("far1e-2"), 0.55);
  EXPECT_DOUBLE_EQ(loaded.threshold_for("best-accuracy"), 0.58);
  EXPECT_FALSE(loaded.get("best-accuracy").target_far);
  EXPECT_EQ(loaded.get("far1e-2").impostors, 10000u);
  EXPECT_EQ(loaded.provenance["csv"], "pairs.csv");
  try {
    loaded.get("far1e-5");
    FAIL() << "no error";
  } catch (const fm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("far1e-2, best-accuracy"), std::string::npos) << e.what();
  }

  fm::PipelineOptions options;
  options.align = fm::AlignMode::similarity;
  EXPECT_DOUBLE_EQ(fm::resolve_operating_point(path.string(), options).point.threshold, 0.55);
  EXPECT_DOUBLE_EQ(fm::resolve_operating_point(path.string() + ":best-accuracy", options).point.threshold,
                   0.58);
  EXPECT_EQ(fm::resolve_operating_point(path.string(), options).origin, path.string());
  // Thresholds fitted on one alignment do not hold for the other.
  options.align = fm::AlignMode::faceapi;
  EXPECT_THROW(fm::resolve_operating_point(path.string(), options), fm::Error);
  std::filesystem::remove(path);
  EXPECT_THROW(fm::resolve_operating_point(path.string(), options), fm::Error);
}

// A file records the whole pipeline and its fingerprint; any descriptor setting that differs is refused
// by name (the first files' check compared model, detector, align and flip averaging only).
TEST(OperatingPoints, RefusedUnderAnotherPipelineNamingTheSetting) {
  const auto fitted = fm::recommended_pipeline();
  fm::OperatingPoints points;
  points.model = fm::kEmbeddingModelId;
  points.detector = "cascade";
  points.align = "similarity";
  points.pipeline = fm::to_json(fitted);
  points.fingerprint = fm::pipeline_fingerprint(fitted);
  points.points.push_back({"far1e-2", 0.55, 0.01, 0.9, 0.0099, 90, 100, 99, 10000});
  points.default_point = "far1e-2";
  const auto path =
      std::filesystem::temp_directory_path() / ("op_fp_" + std::to_string(::getpid()) + ".json");
  fm::save_operating_points(points, path);
  const auto loaded = fm::load_operating_points(path);
  EXPECT_EQ(loaded.pipeline, points.pipeline);
  EXPECT_EQ(loaded.fingerprint, points.fingerprint);
  EXPECT_NO_THROW(loaded.check_pipeline(fitted));
  // Settings that do not change descriptors do not matter.
  auto runtime = fitted;
  runtime.limits.max_pixels = 5'000'000;
  runtime.face_policy = fm::FacePolicy::error;
  runtime.require_acceptable_quality = true;
  EXPECT_NO_THROW(loaded.check_pipeline(runtime));
  // Nor does precision: each passes its accuracy gate, and auto differs between CPUs anyway.
  for (const auto precision : {fm::Precision::fp32, fm::Precision::bf16, fm::Precision::int8}) {
    auto other_precision = fitted;
    other_precision.precision = precision;
    EXPECT_NO_THROW(loaded.check_pipeline(other_precision)) << fm::to_string(precision);
    EXPECT_NO_THROW(fm::builtin_operating_points().check_pipeline(other_precision))
        << fm::to_string(precision);
  }
  // The detector, alignment and flip averaging are the same: only the fingerprint sees this one.
  auto other = fitted;
  other.detector.cascade_sure_score = 0.85f;
  other.reduced_decode_min_side = 0;
  try {
    fm::resolve_operating_point(path.string(), other);
    FAIL() << "no error";
  } catch (const fm::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cascade_sure_score 0.7, not 0.85 (use --cascade-sure-score 0.7)"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("reduced_decode_min_side 1024, not 0"), std::string::npos) << message;
    EXPECT_NE(message.find(points.fingerprint), std::string::npos) << message;
  }
  EXPECT_FALSE(loaded.fits(other));

  // A file whose settings were edited after fitting no longer matches its fingerprint: refused on load.
  auto edited = fm::to_json(points);
  edited["pipeline"]["cascade_sure_score"] = 0.85;
  EXPECT_THROW(fm::operating_points_from_json(edited, "edited.json"), fm::Error);
  edited["pipeline"] = fm::to_json(fitted);
  edited["pipeline"]["no_such_setting"] = 1;
  try {
    fm::operating_points_from_json(edited, "edited.json");
    FAIL() << "no error";
  } catch (const fm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'no_such_setting'"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(OperatingPoints, BuiltInPointsLoad) {
  const auto& builtin = fm::builtin_operating_points();
  EXPECT_EQ(builtin.origin, "built-in");
  EXPECT_EQ(builtin.model, fm::kEmbeddingModelId);
  const auto resolved = fm::resolve_operating_point("far1e-3", fm::recommended_pipeline());
  EXPECT_EQ(resolved.origin, "built-in");
  EXPECT_GT(resolved.point.threshold, 0.3);
  EXPECT_LT(resolved.point.threshold, 0.7);
  // They were fitted on the recommended pipeline; face-api's own (SSD, no flip) gets other distances.
  EXPECT_THROW(fm::resolve_operating_point("far1e-3", fm::PipelineOptions{}), fm::Error);
}

TEST(OperatingPoints, RejectsFilesOfAnotherFormat) {
  const auto path = write_temp("not_op.json", R"({"threshold": 0.5})");
  EXPECT_THROW(fm::load_operating_points(path), fm::Error);
  std::filesystem::remove(path);
}

// A photo of several people (`x|y`, the syntax of ../shared/faces/identities.csv) is an impostor only of
// photos that show none of them; with one of them it is left out, since the face compared may be theirs.
TEST(EvalMetrics, MultiPersonPhotosAreImpostorsOnlyOfPeopleNotInThem) {
  fm::EvaluationRun run;
  run.embeddings["x.jpg"] = {{0, 0}, "m"};
  run.embeddings["xy.jpg"] = {{1, 0}, "m"};
  run.embeddings["y.jpg"] = {{2, 0}, "m"};
  run.embeddings["z.jpg"] = {{4, 0}, "m"};
  run.embeddings["yx.jpg"] = {{8, 0}, "m"};
  const std::map<std::string, std::string> identities = {
      {"x.jpg", "x"}, {"xy.jpg", "x|y"}, {"y.jpg", "y"}, {"z.jpg", "z"}, {"yx.jpg", "y|x"}};
  auto impostors = fm::cross_identity_impostors(run, identities);
  std::vector<double> distances;
  for (const auto& p : impostors) distances.push_back(p.distance);
  std::sort(distances.begin(), distances.end());
  // x-y, x-z, y-z, and z against both group photos; never x or y against a photo they are in.
  EXPECT_EQ(distances, (std::vector<double>{2, 2, 3, 4, 4}));
}

TEST(EvalMetrics, CrossIdentityImpostorsPairEveryTwoPeople) {
  fm::EvaluationRun run;
  run.embeddings["a.jpg"] = {{0, 0}, "m"};
  run.embeddings["b.jpg"] = {{1, 0}, "m"};
  run.embeddings["c.jpg"] = {{0, 3}, "m"};
  run.embeddings["unlabelled.jpg"] = {{5, 5}, "m"};
  const std::map<std::string, std::string> identities = {
      {"a.jpg", "x"}, {"b.jpg", "x"}, {"c.jpg", "y"}, {"failed.jpg", "z"}};
  auto impostors = fm::cross_identity_impostors(run, identities);
  ASSERT_EQ(impostors.size(), 2u);  // a-c and b-c; a-b is genuine, the others lack a label or a descriptor
  std::sort(impostors.begin(), impostors.end(),
            [](const auto& l, const auto& r) { return l.distance < r.distance; });
  EXPECT_DOUBLE_EQ(impostors[0].distance, 3.0);
  EXPECT_DOUBLE_EQ(impostors[1].distance, std::sqrt(10.0));
  EXPECT_FALSE(impostors[0].same);

  const auto path = write_temp("identities.csv", "img,identity\na.jpg,x\nunknown.jpg,\nb.jpg\n");
  try {
    fm::read_identities_csv(path);
    FAIL() << "no error";
  } catch (const fm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 4"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}
