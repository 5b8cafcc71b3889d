// The tfjs manifest reader and model-file validation, on the real face-api files.
#include <gtest/gtest.h>

#include <fstream>

#include "facematch/detect.hpp"
#include "facematch/error.hpp"
#include "facematch/models.hpp"
#include "models/model_registry.hpp"
#include "models/weights.hpp"
#include "test_support.hpp"

namespace fm = facematch;
using fm::testing::models_dir;

namespace {

// A scratch copy of the models folder for tests that break files on purpose.
std::filesystem::path scratch_copy(const std::string& name) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("facematch_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const auto& entry : std::filesystem::directory_iterator(models_dir()))
    if (entry.is_regular_file()) std::filesystem::copy_file(entry.path(), dir / entry.path().filename());
  return dir;
}

fm::ErrorCode code_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const fm::Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << "no facematch::Error thrown";
  return fm::ErrorCode::internal;
}

}  // namespace

TEST(Weights, EveryTensorDequantizesExactlyAsTfjs) {
  const auto golden = fm::testing::read_json(fm::testing::golden_dir() / "weights_sha256.json");
  for (const auto& [model, tensors] : golden.items()) {
    const auto map = fm::models::WeightMap::load(models_dir(), model);
    ASSERT_EQ(map.size(), tensors.size()) << model;
    for (const auto& [name, sha] : tensors.items()) {
      const auto it = map.tensors().find(name);
      ASSERT_NE(it, map.tensors().end()) << model << " lacks " << name;
      const auto& t = it->second;
      const std::string actual = t.ints.empty()
                                     ? fm::testing::sha256_hex(t.values.data(), t.values.size() * 4)
                                     : fm::testing::sha256_hex(t.ints.data(), t.ints.size() * 4);
      EXPECT_EQ(actual, sha.get<std::string>()) << model << "/" << name;
    }
  }
}

TEST(Weights, WrongShapeIsAModelErrorNamingTheTensor) {
  const auto map = fm::models::WeightMap::load(models_dir(), "face_recognition_model");
  std::string message;
  EXPECT_EQ(code_of([&] { map.get("fc", {128, 256}); }, &message), fm::ErrorCode::model_error);
  EXPECT_NE(message.find("fc"), std::string::npos);
  EXPECT_NE(message.find("[256, 128]"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] { map.get("no/such/tensor", {1}); }), fm::ErrorCode::model_error);
}

TEST(Weights, TruncatedBinNamesTheTensorAndTheSizes) {
  const auto dir = scratch_copy("truncated");
  std::filesystem::resize_file(dir / "face_recognition_model.bin", 1000000);
  std::string message;
  EXPECT_EQ(code_of([&] { fm::models::WeightMap::load(dir, "face_recognition_model"); }, &message),
            fm::ErrorCode::model_error);
  EXPECT_NE(message.find("tensor"), std::string::npos) << message;
  EXPECT_NE(message.find("1000000 bytes"), std::string::npos) << message;
  std::filesystem::remove_all(dir);
}

TEST(Weights, OversizedBinIsRejected) {
  const auto dir = scratch_copy("oversized");
  {
    std::ofstream append(dir / "tiny_face_detector_model.bin", std::ios::app | std::ios::binary);
    append << "extra";
  }
  std::string message;
  EXPECT_EQ(code_of([&] { fm::models::WeightMap::load(dir, "tiny_face_detector_model"); }, &message),
            fm::ErrorCode::model_error);
  EXPECT_NE(message.find("wrong .bin"), std::string::npos) << message;
  std::filesystem::remove_all(dir);
}

TEST(Models, LoadsAndVerifiesTheRealFiles) {
  const auto models = fm::Models::load(models_dir());
  EXPECT_EQ(models->weights("face_recognition_model").size(), 117u);
  EXPECT_EQ(models->weights("ssd_mobilenetv1_model").size(), 151u);
  EXPECT_EQ(models->weights("face_landmark_68_model").size(), 49u);
  EXPECT_EQ(models->weights("tiny_face_detector_model").size(), 19u);
}

TEST(Models, AlteredFileIsNamed) {
  const auto dir = scratch_copy("altered");
  {
    std::fstream f(dir / "face_landmark_68_model.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  std::string message;
  EXPECT_EQ(code_of([&] { fm::Models::load(dir); }, &message), fm::ErrorCode::model_error);
  EXPECT_NE(message.find("face_landmark_68_model.bin"), std::string::npos) << message;
  std::filesystem::remove_all(dir);
}

TEST(Models, MissingFileIsNamed) {
  const auto dir = scratch_copy("missing");
  std::filesystem::remove(dir / "ssd_mobilenetv1_model-weights_manifest.json");
  std::string message;
  EXPECT_EQ(code_of([&] { fm::Models::load(dir); }, &message), fm::ErrorCode::model_error);
  EXPECT_NE(message.find("ssd_mobilenetv1_model-weights_manifest.json"), std::string::npos) << message;
  std::filesystem::remove_all(dir);
}

TEST(Models, MissingFolderSaysHowToGetModels) {
  std::string message;
  EXPECT_EQ(code_of([&] { fm::Models::load("/nonexistent/facematch-models"); }, &message),
            fm::ErrorCode::model_error);
  EXPECT_NE(message.find("setup.sh"), std::string::npos) << message;
}

TEST(Models, LocateHonoursExplicitThenEnvironment) {
  EXPECT_EQ(fm::locate_models(std::filesystem::path("/x/y")), std::filesystem::path("/x/y"));
  ::setenv("FACEMATCH_MODELS", "/from/env", 1);
  EXPECT_EQ(fm::locate_models(std::nullopt), std::filesystem::path("/from/env"));
  ::unsetenv("FACEMATCH_MODELS");
  EXPECT_FALSE(fm::locate_models(std::nullopt).empty());
}

// The registries are the one place a model or a detector is described: every model they name loads,
// every detector's model is registered, and a composition is made of registered detectors.
TEST(Registry, EveryModelAndDetectorIsDescribedOnce) {
  const auto models = fm::Models::load(models_dir());
  for (const auto& spec : fm::models::model_registry()) {
    EXPECT_NO_THROW(models->weights(std::string(spec.name))) << spec.name;
    EXPECT_EQ(&fm::models::model_spec(std::string(spec.name) + "@416"), &spec);
    EXPECT_GT(spec.input_size, 0) << spec.name;
  }
  EXPECT_THROW(fm::models::model_spec("age_gender_model"), fm::Error);
  for (const auto& detector : fm::detector_registry()) {
    EXPECT_EQ(fm::parse_detector(detector.name), detector.kind);
    EXPECT_EQ(&fm::detector_spec(detector.kind), &detector);
    if (detector.stages.empty()) {
      ASSERT_NE(detector.make, nullptr) << detector.name;
      EXPECT_NO_THROW(fm::models::model_spec(detector.model)) << detector.name;
    }
    for (const auto stage : detector.stages) EXPECT_TRUE(fm::detector_spec(stage).stages.empty());
  }
}
