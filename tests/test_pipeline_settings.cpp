// The pipeline as data (include/facematch/pipeline.hpp): every setting round-trips through JSON, unknown
// keys and invalid values are refused by name, and the fingerprint follows exactly the settings that
// change descriptors. Operating points are checked on it (tests/test_eval_metrics.cpp).
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "facematch/error.hpp"
#include "facematch/pipeline.hpp"

namespace fm = facematch;
using nlohmann::json;

namespace {

// A valid value other than the recommended one for every setting. A setting added to the table
// without a value here fails EverySettingRoundTrips, so each one is exercised.
const std::map<std::string, json> kOtherValue = {
    {"detector", "ssd"},
    {"min_score", 0.35},
    {"max_results", 7},
    {"tiny_size", 320},
    {"retry_low_light", false},
    {"retry_quarter_turns", false},
    {"retry_min_score", 0.15},
    {"fallback_other", true},
    {"tile_min_side", 800},
    {"cascade_sure_score", 0.85},
    {"cascade_doubt_score", 0.1},
    {"border_retry", 0.5},
    {"align", "faceapi"},
    {"face_policy", "error"},
    {"precision", "fp32"},
    {"flip_average", false},
    {"reduced_decode_min_side", 512},
    {"max_megapixels", 12.5},
    {"max_bytes", 1234567},
    {"min_side", 24},
    {"min_quality", true},
};

fm::PipelineOptions with(const std::string& name, const json& value) {
  auto o = fm::recommended_pipeline();
  fm::set_pipeline_setting(o, fm::pipeline_setting(name), value);
  return o;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const fm::Error& e) {
    EXPECT_EQ(e.code(), fm::ErrorCode::invalid_argument);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

}  // namespace

TEST(PipelineSettings, EverySettingRoundTrips) {
  std::set<std::string> names;
  for (const auto& s : fm::pipeline_settings()) {
    const std::string name(s.name);
    names.insert(name);
    ASSERT_TRUE(kOtherValue.contains(name)) << name << " has no test value";
    const auto changed = with(name, kOtherValue.at(name));
    const auto j = fm::to_json(changed);
    // The setting reads back the field it wrote, and the value differs from the recommended one.
    EXPECT_EQ(j.at(name), kOtherValue.at(name)) << name;
    EXPECT_NE(j, fm::to_json(fm::recommended_pipeline())) << name;
    // Through text and back, from face-api's own pipeline as the base: every field comes from the JSON.
    const auto back = fm::pipeline_from_json(json::parse(j.dump()), fm::PipelineOptions{});
    EXPECT_EQ(fm::to_json(back), j) << name;
    EXPECT_EQ(back.detector, changed.detector) << name;
    EXPECT_EQ(back.align, changed.align) << name;
    EXPECT_EQ(back.face_policy, changed.face_policy) << name;
    EXPECT_EQ(back.precision, changed.precision) << name;
    EXPECT_EQ(back.flip_average, changed.flip_average) << name;
    EXPECT_EQ(back.reduced_decode_min_side, changed.reduced_decode_min_side) << name;
    EXPECT_EQ(back.require_acceptable_quality, changed.require_acceptable_quality) << name;
    EXPECT_EQ(back.limits.max_bytes, changed.limits.max_bytes) << name;
    EXPECT_EQ(back.limits.max_pixels, changed.limits.max_pixels) << name;
    EXPECT_EQ(back.limits.min_side, changed.limits.min_side) << name;
  }
  EXPECT_EQ(names.size(), kOtherValue.size()) << "a test value names no setting";
  // Floats are written as the decimal they were given, not float's binary expansion.
  EXPECT_EQ(fm::to_json(fm::recommended_pipeline())["cascade_sure_score"].dump(), "0.7");
}

TEST(PipelineSettings, UnknownKeysAreRefusedByName) {
  const auto message = message_of([] { fm::pipeline_from_json(json{{"cascade_sure", 0.5}}); });
  EXPECT_NE(message.find("'cascade_sure'"), std::string::npos) << message;
  EXPECT_NE(message.find("cascade_sure_score"), std::string::npos) << message;  // the settings are listed
  EXPECT_THROW(fm::pipeline_from_json(json::array()), fm::Error);
}

TEST(PipelineSettings, InvalidValuesAreRefusedWithTheStagesRules) {
  // The detector's own rule: in (0, 1].
  EXPECT_EQ(message_of([] { with("cascade_sure_score", 0); }),
            "cascade_sure_score must be above 0 and at most 1 (got 0)");
  EXPECT_NO_THROW(with("cascade_sure_score", 1));
  EXPECT_EQ(message_of([] { with("tiny_size", 100); }),
            "tiny_size must be a whole number from 32 to 1024, a multiple of 32 (got 100)");
  EXPECT_EQ(message_of([] { with("tile_min_side", -1); }),
            "tile_min_side must be a whole number at least 0, 0 = off (got -1)");
  EXPECT_EQ(message_of([] { with("flip_average", "yes"); }),
            "flip_average must be true or false (got \"yes\")");
  EXPECT_NE(message_of([] { with("detector", "fast"); }).find("unknown detector 'fast'"), std::string::npos);
  EXPECT_THROW(with("max_results", 2.5), fm::Error);
  EXPECT_THROW(with("min_score", 1), fm::Error);
  // Text (CLI flags, form fields) is read whole.
  auto o = fm::recommended_pipeline();
  EXPECT_EQ(message_of([&] { fm::set_pipeline_setting_text(o, fm::pipeline_setting("min_score"), "0.5x"); }),
            "min_score must be above 0 and below 1 (got '0.5x')");
  fm::set_pipeline_setting_text(o, fm::pipeline_setting("min_score"), "0.25");
  EXPECT_FLOAT_EQ(o.detector.min_score, 0.25f);
}

TEST(PipelineSettings, FingerprintFollowsTheDescriptorSettingsOnly) {
  const auto recommended = fm::pipeline_fingerprint(fm::recommended_pipeline());
  EXPECT_EQ(recommended.size(), 16u);
  EXPECT_EQ(recommended, fm::pipeline_fingerprint(fm::recommended_pipeline()));  // stable
  for (const auto& s : fm::pipeline_settings()) {
    const std::string name(s.name);
    const auto changed = fm::pipeline_fingerprint(with(name, kOtherValue.at(name)));
    if (s.affects_descriptors) {
      EXPECT_NE(changed, recommended) << name;
    } else {
      EXPECT_EQ(changed, recommended) << name;
    }
  }
  // The table's classification itself, for the settings that matter most.
  for (const char* descriptor : {"detector", "align", "flip_average", "cascade_sure_score"})
    EXPECT_TRUE(fm::pipeline_setting(descriptor).affects_descriptors) << descriptor;
  for (const char* runtime : {"max_megapixels", "max_bytes", "min_quality", "face_policy", "precision"})
    EXPECT_FALSE(fm::pipeline_setting(runtime).affects_descriptors) << runtime;
}

TEST(PipelineSettings, DifferencesNameTheSettingAndTheFlag) {
  const auto fitted = fm::to_json(fm::recommended_pipeline());
  const auto used = fm::to_json(with("cascade_sure_score", 0.85));
  const auto d = fm::descriptor_differences(fitted, used);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], "cascade_sure_score 0.7, not 0.85 (use --cascade-sure-score 0.7)");
  EXPECT_TRUE(fm::descriptor_differences(fitted, fm::to_json(with("max_megapixels", 5))).empty());
  EXPECT_EQ(fm::descriptor_differences(fitted, fm::to_json(with("flip_average", false)))[0],
            "flip_average true, not false (use --flip-average)");
}
