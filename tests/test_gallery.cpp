// The Gallery over real photos (../shared/faces), on every store back end: enrol, identify, verify
// against a subject, delete; replicas following each other; concurrent writers and searchers; hostile
// names and labels.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/gallery.hpp"
#include "gallery_test_support.hpp"
#include "test_support.hpp"

namespace facematch::testing {
namespace {

std::filesystem::path face_photo(const std::string& name) {
  const auto p = shared_dir() / "faces" / name;
  require_file(p, "the labelled photos of ../shared/faces");
  return p;
}

const Verifier& verifier() {
  static Verifier v(shared_models(), 2);
  return v;
}

// The analysis of a photo, made once per process (most tests need descriptors, not inference).
const ImageAnalysis& analysis_of(const std::string& name) {
  static std::mutex m;
  static std::map<std::string, ImageAnalysis> cache;
  std::lock_guard lock(m);
  auto it = cache.find(name);
  if (it == cache.end()) {
    auto p = recommended_pipeline();
    p.face_policy = FacePolicy::largest;
    it = cache.emplace(name, verifier().analyze_file(face_photo(name), p)).first;
  }
  return it->second;
}

IdentifyOptions top(std::size_t k, std::optional<double> threshold = std::nullopt) {
  IdentifyOptions o;
  o.top_k = k;
  o.threshold = threshold;
  return o;
}

template <typename F>
ErrorCode error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::internal;  // "no error" reads as a failure in every expectation below
}

class GalleryTest : public ::testing::TestWithParam<StoreLocation> {
 protected:
  void SetUp() override { location = GetParam().make(); }
  std::unique_ptr<Gallery> open() const {
    return std::make_unique<Gallery>(open_gallery_store(location), verifier());
  }
  std::string location;
};

TEST_P(GalleryTest, EnrolIdentifyVerifyDelete) {
  auto g = open();
  EXPECT_TRUE(g->identify_file(face_photo("obama_2.jpg")).candidates.empty()) << "an empty gallery";
  const auto obama = g->enrol_file("obama", face_photo("obama_1.jpg"), "from obama_1.jpg");
  EXPECT_GT(obama.face.id, 0);
  EXPECT_EQ(obama.face.descriptor.model, kEmbeddingModelId);
  EXPECT_GT(obama.face.box.width, 50);
  EXPECT_TRUE(obama.face.quality.acceptable());
  g->enrol_file("biden", face_photo("biden_1.jpg"));
  g->enrol_file("kit", face_photo("kit_harington_1.jpg"));
  g->enrol_file("kit", face_photo("kit_harington_2.jpg"));
  EXPECT_EQ(g->subject_count(), 3u);
  EXPECT_EQ(g->face_count(), 4u);

  const auto id = g->identify_file(face_photo("obama_2.jpg"), top(2));
  ASSERT_TRUE(id.identified.has_value());
  EXPECT_EQ(*id.identified, "obama");
  ASSERT_EQ(id.candidates.size(), 2u);
  EXPECT_EQ(id.candidates[0].subject, "obama");
  EXPECT_EQ(id.candidates[0].face_id, obama.face.id);
  EXPECT_EQ(id.candidates[0].label, "from obama_1.jpg");
  EXPECT_LT(id.candidates[0].distance, id.candidates[1].distance);
  EXPECT_GT(id.candidates[0].similarity, 0.5);
  EXPECT_LT(id.candidates[1].similarity, 0.5);
  // The 1:N default is the stricter built-in point, and the answer says so.
  EXPECT_EQ(id.operating_point, kDefaultIdentifyOperatingPoint);
  EXPECT_EQ(id.threshold, builtin_operating_points().threshold_for(kDefaultIdentifyOperatingPoint));
  EXPECT_LT(id.threshold, builtin_operating_points().threshold_for("far1e-3"));
  EXPECT_EQ(id.gallery_size, 3u);
  EXPECT_EQ(id.gallery_faces, 4u);
  // The distance is verify's: the same pair through verify_files.
  const auto pair = verifier().verify_files(face_photo("obama_1.jpg"), face_photo("obama_2.jpg"),
                                            GalleryOptions{}.pipeline);
  EXPECT_NEAR(id.candidates[0].distance, pair.distance, 1e-6);

  // A subject of two faces answers with its closest one.
  const auto kit = g->verify_subject_file(face_photo("kit_harington_3.jpg"), "kit");
  EXPECT_TRUE(kit.verified);
  EXPECT_EQ(kit.faces_compared, 2u);
  EXPECT_FALSE(g->verify_subject_file(face_photo("biden_2.jpg"), "obama").verified);
  EXPECT_TRUE(g->verify_subject_file(face_photo("biden_2.jpg"), "biden").verified);
  EXPECT_EQ(error_of([&] { g->verify_subject_file(face_photo("biden_2.jpg"), "nobody"); }),
            ErrorCode::not_found);

  // A threshold from the call replaces the operating point.
  const auto loose = g->identify_file(face_photo("obama_2.jpg"), top(5, 2.0));
  EXPECT_EQ(loose.operating_point, "custom");
  EXPECT_EQ(loose.candidates.size(), 3u);

  EXPECT_EQ(g->delete_subject("obama"), 1u);
  const auto after = g->identify_file(face_photo("obama_2.jpg"));
  EXPECT_FALSE(after.identified.has_value());
  for (const auto& c : after.candidates) EXPECT_NE(c.subject, "obama");
  EXPECT_EQ(after.gallery_size, 2u);
  const auto kit_faces = g->subject("kit");
  ASSERT_TRUE(kit_faces.has_value());
  EXPECT_TRUE(g->delete_face("kit", kit_faces->faces[0].id));
  EXPECT_EQ(g->face_count(), 2u);
  EXPECT_EQ(g->delete_subject("obama"), 0u);
}

TEST_P(GalleryTest, RefusesPhotosWithoutOneGoodFace) {
  auto g = open();
  const auto grass = read_bytes(face_photo("noface_grass.jpg"));
  EXPECT_EQ(error_of([&] { g->enrol("x", grass); }), ErrorCode::no_face);
  const auto group = read_bytes(face_photo("multi_obama_biden.jpg"));
  EXPECT_EQ(error_of([&] {
              EnrolOptions o;
              o.face_policy = FacePolicy::error;
              g->enrol_image("x", group, o);
            }),
            ErrorCode::too_many_faces);
  EXPECT_EQ(g->subject_count(), 0u);
  // Under the default policy the largest face is enrolled.
  EXPECT_GT(g->enrol("x", group).analysis.faces.size(), 1u);
}

TEST_P(GalleryTest, AReplicaSeesEnrolmentsAndDeletions) {
  auto a = open();
  auto b = open();  // another process's gallery on the same database
  EXPECT_FALSE(b->identify_embedding(analysis_of("obama_2.jpg").chosen_embedding()).identified);
  a->enrol_analysis("obama", analysis_of("obama_1.jpg"));
  const auto seen = b->identify_embedding(analysis_of("obama_2.jpg").chosen_embedding());
  ASSERT_TRUE(seen.identified.has_value());
  EXPECT_EQ(*seen.identified, "obama");
  a->delete_subject("obama");
  EXPECT_TRUE(b->identify_embedding(analysis_of("obama_2.jpg").chosen_embedding()).candidates.empty());
  EXPECT_EQ(
      error_of([&] { b->verify_subject_embedding(analysis_of("obama_2.jpg").chosen_embedding(), "obama"); }),
      ErrorCode::not_found);
}

// Several writers, a deleter and searchers on separate galleries (replicas) of one database: a subject
// whose deletion was acknowledged before a search started is never among its candidates, and every
// search sees a gallery of whole subjects.
TEST_P(GalleryTest, ConcurrentEnrolDeleteIdentifyAgree) {
  const auto& probe = analysis_of("obama_2.jpg").chosen_embedding();
  const std::vector<std::string> photos = {"obama_1.jpg", "biden_1.jpg", "kit_harington_1.jpg"};
  for (const auto& p : photos) (void)analysis_of(p);
  constexpr int kSubjects = 24;
  auto writer = open();
  for (int i = 0; i < kSubjects; ++i) {
    std::string name = "s";
    name += std::to_string(i);
    writer->enrol_analysis(name, analysis_of(photos[static_cast<std::size_t>(i) % photos.size()]));
  }
  std::mutex m;
  std::set<std::string> deleted;  // acknowledged deletions
  std::atomic<bool> done{false};
  std::atomic<int> searches{0}, violations{0};
  std::thread deleter([&] {
    auto g = open();
    for (int i = 0; i < kSubjects; i += 2) {
      std::string name = "s";
      name += std::to_string(i);
      EXPECT_EQ(g->delete_subject(name), 1u);
      std::lock_guard lock(m);
      deleted.insert(name);
    }
    done = true;
  });
  std::thread enroller([&] {
    auto g = open();
    for (int i = 0; i < 10 && !done; ++i) {
      std::string name = "new";
      name += std::to_string(i);
      g->enrol_analysis(name, analysis_of("biden_1.jpg"));
    }
  });
  std::vector<std::thread> searchers;
  for (int t = 0; t < 2; ++t)
    searchers.emplace_back([&] {
      auto g = open();
      while (!done || searches < 4) {
        std::set<std::string> before;
        {
          std::lock_guard lock(m);
          before = deleted;
        }
        const auto id = g->identify_embedding(probe, top(1000, 10));
        ++searches;
        for (const auto& c : id.candidates)
          if (before.contains(c.subject)) ++violations;
        if (id.candidates.size() != id.gallery_size) ++violations;
      }
    });
  deleter.join();
  enroller.join();
  for (auto& s : searchers) s.join();
  EXPECT_EQ(violations, 0);
  EXPECT_GE(searches, 4);
  const auto final_id = open()->identify_embedding(probe, top(1000, 10));
  for (const auto& c : final_id.candidates) EXPECT_FALSE(deleted.contains(c.subject)) << c.subject;
}

TEST_P(GalleryTest, HostileNamesAreRefusedAndLabelsStoredVerbatim) {
  auto g = open();
  const auto& a = analysis_of("obama_1.jpg");
  const std::vector<std::string> bad_names = {"",
                                              "a b",
                                              "o'brien",
                                              "\"quoted\"",
                                              "x'; DROP TABLE faces; --",
                                              "a/b",
                                              "..",
                                              ".hidden",
                                              std::string("nul\0byte", 8),
                                              "caf\xc3\xa9",
                                              "\xff\xfe",
                                              std::string(129, 'a'),
                                              std::string(10000, 'a')};
  for (const auto& n : bad_names)
    EXPECT_EQ(error_of([&] { g->enrol_analysis(n, a); }), ErrorCode::invalid_argument) << n;
  EXPECT_EQ(g->enrol_analysis(std::string(128, 'a'), a).subject, std::string(128, 'a'));
  EXPECT_EQ(g->enrol_analysis("jane.doe-2@example_org", a).subject, "jane.doe-2@example_org");

  const std::vector<std::string> bad_labels = {std::string("nul\0byte", 8), "\xff\xfe", "caf\xc3",
                                               "line\nbreak", std::string(10000, 'x')};
  for (const auto& l : bad_labels)
    EXPECT_EQ(error_of([&] { g->enrol_analysis("x", a, l); }), ErrorCode::invalid_argument) << l.size();
  const std::vector<std::string> labels = {
      "x'; DROP TABLE faces; --", "\"quoted\" 'single' `back`", "<script>alert(1)</script>",
      "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\ttab", std::string(kMaxLabelBytes, 'y')};
  for (const auto& l : labels) g->enrol_analysis("labelled", a, l);
  const auto s = g->subject("labelled");
  ASSERT_TRUE(s.has_value());
  ASSERT_EQ(s->faces.size(), labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) EXPECT_EQ(s->faces[i].label, labels[i]);
  EXPECT_EQ(g->subject_count(), 3u);
}

TEST_P(GalleryTest, DescriptorsOfAnotherModelAreRefusedWithAdviceToReEnrol) {
  auto g = open();
  g->enrol_analysis("obama", analysis_of("obama_1.jpg"));
  FaceRecord old;
  old.subject = "legacy";
  old.descriptor = {std::vector<float>(128, 0.1f), "some-older-model"};
  g->store().add_face(old);
  try {
    g->identify_embedding(analysis_of("obama_2.jpg").chosen_embedding());
    ADD_FAILURE() << "searched past descriptors of another model";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::incompatible);
    EXPECT_NE(std::string(e.what()).find("re-enrol"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("some-older-model"), std::string::npos) << e.what();
  }
  // Other subjects can still be verified one to one; once re-enrolled, search works again.
  EXPECT_TRUE(g->verify_subject_embedding(analysis_of("obama_2.jpg").chosen_embedding(), "obama").verified);
  g->delete_subject("legacy");
  EXPECT_EQ(*g->identify_embedding(analysis_of("obama_2.jpg").chosen_embedding()).identified, "obama");
}

// Above GalleryOptions::approximate_search_above_faces the HNSW graph finds the nearest faces; on a
// small gallery of real faces, crowded with near copies of them so that the graph has to rank close
// neighbours, it answers what the exact scan answers, and never a face deleted by another replica.
TEST_P(GalleryTest, ApproximateSearchAnswersAsExactSearch) {
  const std::vector<std::pair<std::string, std::string>> enrolled = {
      {"obama", "obama_1.jpg"},         {"biden", "biden_1.jpg"},      {"kit", "kit_harington_1.jpg"},
      {"alex", "alex_lacamoire_1.jpg"}, {"rose", "rose_leslie_1.jpg"}, {"hugh", "hugh_laurie_1.jpg"},
      {"kate", "kate_siegel.jpg"},      {"paul", "paul_rudd.jpg"},     {"shea", "shea_whigham.jpg"}};
  const std::vector<std::string> probes = {
      "obama_2.jpg",          "obama_3.jpg",          "biden_2.jpg",           "kit_harington_2.jpg",
      "kit_harington_3.jpg",  "alex_lacamoire_2.jpg", "alex_lacamoire_3.png",  "rose_leslie_2.jpg",
      "hugh_laurie_cmyk.jpg", "glasses_woman.jpg",    "lin_manuel_miranda.png"};
  GalleryOptions exact_options;
  exact_options.approximate_search_above_faces = 0;
  auto exact = std::make_unique<Gallery>(open_gallery_store(location), verifier(), exact_options);
  GalleryOptions approximate_options;
  approximate_options.approximate_search_above_faces = 100;
  approximate_options.approximate_search_beam = 32;
  auto approximate = std::make_unique<Gallery>(open_gallery_store(location), verifier(), approximate_options);

  for (const auto& [subject, photo] : enrolled) exact->enrol_analysis(subject, analysis_of(photo));
  EXPECT_FALSE(approximate->approximate_search()) << "9 faces are below the threshold";
  // 40 near copies of each enrolled face (distance about 0.55 to it, as close as another photo of the
  // same person), seeded, stored as other subjects.
  std::mt19937 rng(13);
  std::normal_distribution<float> noise(0.f, 0.05f);
  for (const auto& [subject, photo] : enrolled) {
    FaceRecord r;
    r.descriptor = analysis_of(photo).chosen_embedding();
    const auto original = r.descriptor.values;
    for (int i = 0; i < 40; ++i) {
      r.subject = "near_" + subject + "_" + std::to_string(i);
      for (std::size_t d = 0; d < original.size(); ++d) r.descriptor.values[d] = original[d] + noise(rng);
      exact->store().add_face(r);
    }
  }
  EXPECT_TRUE(approximate->approximate_search());
  EXPECT_FALSE(exact->approximate_search());

  const auto compare_all = [&](const std::string& when) {
    std::size_t same_top5 = 0, compared = 0;
    for (const auto& photo : probes) {
      const auto& probe = analysis_of(photo).chosen_embedding();
      const auto a = exact->identify_embedding(probe, top(5));
      const auto b = approximate->identify_embedding(probe, top(5));
      EXPECT_EQ(a.gallery_faces, b.gallery_faces);
      ASSERT_FALSE(b.candidates.empty()) << photo;
      EXPECT_EQ(a.candidates[0].subject, b.candidates[0].subject) << photo << " " << when;
      EXPECT_EQ(a.candidates[0].distance, b.candidates[0].distance) << photo << " " << when;
      EXPECT_EQ(a.identified, b.identified) << photo << " " << when;
      for (std::size_t i = 0; i < a.candidates.size() && i < b.candidates.size(); ++i, ++compared)
        same_top5 += a.candidates[i].subject == b.candidates[i].subject;
    }
    // HNSW is approximate: the lower ranks may differ now and then, the decision never.
    EXPECT_GE(same_top5, compared * 95 / 100) << when;
  };
  compare_all("after enrolment");
  const auto obama = approximate->identify_embedding(analysis_of("obama_2.jpg").chosen_embedding());
  ASSERT_EQ(obama.identified, std::optional<std::string>("obama"));

  // Deleted through the other gallery: the graph keeps the rows but never answers them.
  EXPECT_EQ(exact->delete_subject("obama"), 1u);
  for (int i = 0; i < 40; i += 2) exact->delete_subject("near_obama_" + std::to_string(i));
  compare_all("after deletions");
  for (const auto& c :
       approximate->identify_embedding(analysis_of("obama_2.jpg").chosen_embedding(), top(50)).candidates)
    EXPECT_NE(c.subject, "obama");
  EXPECT_TRUE(approximate->approximate_search());
  // Below the threshold again the gallery searches exactly.
  for (const auto& [subject, photo] : enrolled)
    for (int i = 0; i < 40; ++i) exact->delete_subject("near_" + subject + "_" + std::to_string(i));
  EXPECT_FALSE(approximate->approximate_search());
  compare_all("back to exact");
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, GalleryTest, ::testing::ValuesIn(gallery_store_locations()),
                         StoreLocationName{});

}  // namespace facematch::testing
