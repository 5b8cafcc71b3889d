// The recognition ResNet alone, on the exact chips face-api fed it (reference --dump-chip), against the
// descriptors face-api computed: float32 accumulation-order noise only.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/executor.hpp"
#include "facematch/embed.hpp"
#include "models/recognition_net.hpp"
#include "test_support.hpp"

namespace fm = facematch;

TEST(RecognitionNet, EqualsFaceApiOnEveryDemoFace) {
  fm::FaceEmbedder embedder(fm::testing::shared_models());
  const auto golden = fm::testing::read_jsonl(fm::testing::golden_dir() / "pipeline_ssd.jsonl");
  ASSERT_EQ(golden.size(), 6u);
  double worst = 0;
  int faces = 0;
  for (const auto& image : golden) {
    const std::string stem = image.at("image");
    for (std::size_t i = 0; i < image.at("faces").size(); ++i) {
      const auto chip_path = fm::testing::testdata_dir() / "chips" / (stem + "_face" + std::to_string(i) + "_chip150.f32");
      fm::testing::require_file(chip_path, "made by tools/golden/make-inputs.sh");
      const auto descriptor = embedder.run_net(fm::testing::read_f32(chip_path));
      const auto expected = image["faces"][i].at("descriptor").get<std::vector<float>>();
      ASSERT_EQ(descriptor.size(), expected.size());
      for (std::size_t k = 0; k < expected.size(); ++k) {
        const double diff = std::fabs(static_cast<double>(descriptor[k]) - expected[k]);
        worst = std::max(worst, diff);
        EXPECT_LT(diff, 1e-5) << stem << " face " << i << " element " << k;
      }
      ++faces;
    }
  }
  EXPECT_EQ(faces, 22);
  std::printf("recognition net: %d faces, max |diff| per element %.3g\n", faces, worst);
}

TEST(RecognitionNet, UsesTheExpectedLayersAndFlops) {
  const auto models = fm::testing::shared_models();
  const auto desc = fm::models::describe_recognition_net(models->weights(fm::models::kRecognitionModel));
  EXPECT_EQ(desc.shape(desc.outputs().at(0).value), (fm::engine::Shape{1, 1, 128}));
  // 0.542 GFLOP per face (the reference README's figure for this net).
  EXPECT_NEAR(desc.flops_per_item() / 1e9, 0.542, 0.01);
}
