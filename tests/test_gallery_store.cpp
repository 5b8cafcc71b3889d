// GalleryStore back ends: every test runs against each location of gallery_store_locations(), so the
// SQLite file and a real PostgreSQL server answer the same way.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <csignal>
#include <set>
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

// GCC 12 warns falsely (restrict) on "s" + std::to_string(i).
std::string numbered(std::string prefix, int i) {
  prefix += std::to_string(i);
  return prefix;
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

TEST_P(GalleryStoreTest, ChangesSinceFollowsAddsAndDeletes) {
  auto writer = open();
  auto follower = open();  // another replica's connection
  const auto a1 = writer->add_face(record("alice", 0.1f));
  const auto a2 = writer->add_face(record("alice", 0.2f));
  const auto b1 = writer->add_face(record("bob", 0.3f));
  EXPECT_LT(a1.seq, a2.seq);
  EXPECT_LT(a2.seq, b1.seq);
  const auto all = follower->load_all();
  EXPECT_EQ(all.seq, b1.seq);
  ASSERT_EQ(all.added.size(), 3u);

  EXPECT_TRUE(writer->delete_face("alice", a1.id));
  EXPECT_FALSE(writer->delete_face("bob", a2.id)) << "a face of another subject";
  const auto c1 = writer->add_face(record("carol", 0.4f));
  EXPECT_EQ(writer->delete_subject("bob"), 1u);
  const auto changes = follower->changes_since(all.seq);
  EXPECT_EQ(changes.seq, follower->current_seq());
  ASSERT_EQ(changes.added.size(), 1u);
  EXPECT_EQ(changes.added[0].id, c1.id);
  std::vector<FaceId> removed = changes.removed;
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<FaceId>{a1.id, b1.id}));
  EXPECT_TRUE(follower->changes_since(changes.seq).added.empty());
  EXPECT_TRUE(follower->changes_since(changes.seq).removed.empty());

  // The subject goes with its last face.
  EXPECT_TRUE(writer->delete_face("alice", a2.id));
  EXPECT_FALSE(follower->get_subject("alice").has_value());
  EXPECT_FALSE(follower->get_subject("bob").has_value());
  EXPECT_EQ(follower->load_all().added.size(), 1u);
}

TEST_P(GalleryStoreTest, WaitForChangeSeesAnotherConnectionsWrite) {
  auto writer = open();
  auto follower = open();
  const auto known = follower->current_seq();
  EXPECT_EQ(follower->wait_for_change(known, std::chrono::milliseconds(50)), known) << "nothing changed";
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    writer->add_face(record("alice", 0.1f));
  });
  const auto seen = follower->wait_for_change(known, std::chrono::seconds(5));
  t.join();
  EXPECT_GT(seen, known);
}

TEST_P(GalleryStoreTest, SubjectsComeInPagesInNameOrder) {
  auto store = open();
  const std::vector<std::string> names = {"zed", "Alice", "bob", "alice", "0x", "a.b", "a-b", "a_b", "c@d"};
  for (const auto& n : names) store->add_face(record(n, 0.5f));
  store->add_face(record("bob", 0.6f));
  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  for (;;) {
    const auto page = store->list_subjects(after, 4);
    ++pages;
    EXPECT_EQ(page.total_subjects, names.size());
    EXPECT_LE(page.subjects.size(), 4u);
    for (const auto& s : page.subjects) {
      seen.push_back(s.name);
      EXPECT_EQ(s.faces, s.name == "bob" ? 2u : 1u) << s.name;
    }
    if (!page.next_after) break;
    after = *page.next_after;
  }
  auto sorted = names;
  std::sort(sorted.begin(), sorted.end());  // byte order
  EXPECT_EQ(seen, sorted);
  EXPECT_EQ(pages, 3);
}

TEST_P(GalleryStoreTest, HostileStringsAreStoredVerbatim) {
  auto store = open();
  const std::vector<std::string> labels = {
      "'; DROP TABLE faces; --",         "\" OR 1=1 --",
      "Robert'); DELETE FROM subjects;", "\xc3\xa9l\xc3\xa8ve \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
      std::string(kMaxLabelBytes, 'x'),  "%s%n\\x00"};
  for (const auto& l : labels) store->add_face(record("alice", 0.5f, l));
  const auto s = store->get_subject("alice");
  ASSERT_TRUE(s.has_value());
  ASSERT_EQ(s->faces.size(), labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) EXPECT_EQ(s->faces[i].label, labels[i]);
  // A subject name that looks like SQL matches only itself.
  EXPECT_FALSE(store->get_subject("alice' OR '1'='1").has_value());
  EXPECT_EQ(store->delete_subject("%"), 0u);
  EXPECT_EQ(store->load_all().added.size(), labels.size());
}

TEST_P(GalleryStoreTest, ConcurrentWritersNeverLoseAFace) {
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> threads;
  std::vector<std::vector<FaceId>> ids(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto store = open();  // a connection per writer, as separate processes would have
      for (int i = 0; i < kEach; ++i)
        ids[t].push_back(store->add_face(record(numbered("s", t), 0.1f * i)).id);
    });
  for (auto& t : threads) t.join();
  std::set<FaceId> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach)) << "ids are unique";
  const auto loaded = open()->load_all();
  EXPECT_EQ(loaded.added.size(), all.size());
  EXPECT_GE(loaded.seq, kThreads * kEach);
}

// A writer killed with SIGKILL in the middle of enrolments: a reopened store holds every enrolment it
// acknowledged, and only whole records.
TEST_P(GalleryStoreTest, KilledWriterLeavesEveryAcknowledgedFaceWhole) {
  int acks[2];
  ASSERT_EQ(::pipe(acks), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(acks[0]);
    try {
      auto store = open_gallery_store(location);
      for (int i = 0;; ++i) {
        const auto f = store->add_face(record(numbered("s", i % 7), 0.001f * i, std::string(200, 'L')));
        if (::write(acks[1], &f.id, sizeof f.id) != sizeof f.id) ::_exit(3);
      }
    } catch (...) {
      ::_exit(2);
    }
  }
  ::close(acks[1]);
  std::vector<FaceId> acknowledged;
  FaceId id = 0;
  while (acknowledged.size() < 40 && ::read(acks[0], &id, sizeof id) == sizeof id) acknowledged.push_back(id);
  ::kill(child, SIGKILL);
  while (::read(acks[0], &id, sizeof id) == sizeof id) acknowledged.push_back(id);  // sent before the kill
  ::close(acks[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself (status " << status << ")";
  ASSERT_GE(acknowledged.size(), 40u);

  auto store = open();
  const auto all = store->load_all();
  std::set<FaceId> stored;
  for (const auto& f : all.added) {
    stored.insert(f.id);
    EXPECT_EQ(f.descriptor.values.size(), 128u);
    EXPECT_EQ(f.descriptor.model, kEmbeddingModelId);
    EXPECT_EQ(f.label, std::string(200, 'L'));
    EXPECT_EQ(f.quality.reasons, std::vector<std::string>{"dark"});
    EXPECT_EQ(f.box.height, 120.75);
  }
  for (const FaceId a : acknowledged) EXPECT_TRUE(stored.contains(a)) << "acknowledged face " << a << " lost";
  // At most the one enrolment in flight at the kill may have committed without its acknowledgement.
  EXPECT_LE(stored.size(), acknowledged.size() + 1);
  EXPECT_GE(all.seq, static_cast<ChangeSeq>(stored.size()));
  // The store still takes writes.
  EXPECT_GT(store->add_face(record("after", 0.5f)).id, 0);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, GalleryStoreTest, ::testing::ValuesIn(gallery_store_locations()),
                         StoreLocationName{});

}  // namespace facematch::testing
