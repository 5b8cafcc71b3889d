// GalleryStore back ends: every test runs against each location of gallery_store_locations(), so the
// SQLite file and a real PostgreSQL server answer the same way.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/gallery.hpp"
#include "gallery_test_support.hpp"

namespace facematch::testing {
namespace {

// A record as an enrolment writes it. Descriptor values are exact binary fractions plus a few values
// that text round trips lose (denormals, the largest float), so a store that does not keep the bytes fails.
FaceRecord record(const std::string& subject, float seed, std::optional<std::string> label = std::nullopt) {
  FaceRecord r;
  r.subject = subject;
  r.descriptor.model = kEmbeddingModelId;
  for (int i = 0; i < 128; ++i) r.descriptor.values.push_back(seed + static_cast<float>(i) / 256.f);
  r.descriptor.values[1] = std::numeric_limits<float>::denorm_min();
  r.descriptor.values[2] = std::numeric_limits<float>::max();
  r.descriptor.values[3] = -0.1f;
  r.box = {10.5, 20.25, 100, 120.75, 0.97f};
  r.quality.interocular_px = 42.5;
  r.quality.sharpness = 0.61;
  r.quality.yaw_deg = -3.5;
  r.quality.reasons = {"dark"};
  r.enrolled_at_ms = 1'764'000'000'123;
  r.label = std::move(label);
  return r;
}

class GalleryStoreTest : public ::testing::TestWithParam<StoreLocation> {
 protected:
  void SetUp() override { location = GetParam().make(); }
  std::unique_ptr<GalleryStore> open() const { return open_gallery_store(location); }
  std::string location;
};

TEST_P(GalleryStoreTest, EmptyStoreAnswersEmpty) {
  auto store = open();
  EXPECT_EQ(store->kind(), GetParam().name);
  EXPECT_EQ(store->current_seq(), 0);
  const auto page = store->list_subjects("", 10);
  EXPECT_TRUE(page.subjects.empty());
  EXPECT_EQ(page.total_subjects, 0u);
  EXPECT_FALSE(store->get_subject("alice").has_value());
  EXPECT_EQ(store->delete_subject("alice"), 0u);
  EXPECT_FALSE(store->delete_face("alice", 1));
  EXPECT_TRUE(store->load_all().added.empty());
  EXPECT_EQ(store->current_seq(), 0);
}

TEST_P(GalleryStoreTest, AddFaceRoundTripsEveryField) {
  auto store = open();
  const auto in = record("alice", 0.5f, "badge 'A' \"1\"; DROP TABLE faces; --");
  const auto stored = store->add_face(in);
  EXPECT_GT(stored.id, 0);
  EXPECT_GT(stored.seq, 0);
  EXPECT_EQ(store->current_seq(), stored.seq);

  auto reopened = open();  // a second connection, as after a restart
  const auto subject = reopened->get_subject("alice");
  ASSERT_TRUE(subject.has_value());
  EXPECT_EQ(subject->summary.name, "alice");
  EXPECT_EQ(subject->summary.faces, 1u);
  EXPECT_EQ(subject->summary.created_at_ms, in.enrolled_at_ms);
  ASSERT_EQ(subject->faces.size(), 1u);
  const auto& out = subject->faces[0];
  EXPECT_EQ(out.id, stored.id);
  EXPECT_EQ(out.subject, "alice");
  EXPECT_EQ(out.descriptor.model, in.descriptor.model);
  ASSERT_EQ(out.descriptor.values.size(), in.descriptor.values.size());
  for (std::size_t i = 0; i < in.descriptor.values.size(); ++i)
    EXPECT_EQ(std::bit_cast<std::uint32_t>(out.descriptor.values[i]),
              std::bit_cast<std::uint32_t>(in.descriptor.values[i]))
        << i;
  EXPECT_EQ(out.box.x, in.box.x);
  EXPECT_EQ(out.box.y, in.box.y);
  EXPECT_EQ(out.box.width, in.box.width);
  EXPECT_EQ(out.box.height, in.box.height);
  EXPECT_EQ(out.box.score, in.box.score);
  EXPECT_EQ(out.quality.interocular_px, in.quality.interocular_px);
  EXPECT_EQ(out.quality.sharpness, in.quality.sharpness);
  EXPECT_EQ(out.quality.yaw_deg, in.quality.yaw_deg);
  EXPECT_EQ(out.quality.reasons, in.quality.reasons);
  EXPECT_EQ(out.enrolled_at_ms, in.enrolled_at_ms);
  EXPECT_EQ(out.label, in.label);
  EXPECT_EQ(out.seq, stored.seq);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, GalleryStoreTest, ::testing::ValuesIn(gallery_store_locations()),
                         StoreLocationName{});

}  // namespace facematch::testing
