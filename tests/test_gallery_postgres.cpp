// The PostgreSQL gallery back end against a real PostgreSQL 15 server started for each test
// (tests/postgres_server.hpp): replicas following each other, the server going down and coming back,
// schema versions, hostile names and labels, and writers racing each other.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <future>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "facematch/error.hpp"
#include "facematch/gallery.hpp"
#include "postgres_server.hpp"
#include "test_server_harness.hpp"
#include "test_support.hpp"

namespace fm = facematch;
using facematch::testing::PostgresServer;

namespace {

const fm::Verifier& verifier() {
  static const fm::Verifier v(fm::testing::shared_models(), 1);
  return v;
}

std::filesystem::path face(const std::string& name) { return fm::testing::shared_face(name); }

// A record whose descriptor is a random unit vector: the store keeps bytes, it never looks at faces.
fm::FaceRecord synthetic_face(const std::string& subject, std::mt19937& rng,
                              std::optional<std::string> label = std::nullopt) {
  fm::FaceRecord f;
  f.subject = subject;
  std::normal_distribution<float> normal;
  f.descriptor.model = "test-model";
  f.descriptor.values.resize(128);
  double norm = 0;
  for (auto& v : f.descriptor.values) {
    v = normal(rng);
    norm += double(v) * v;
  }
  for (auto& v : f.descriptor.values) v = static_cast<float>(v / std::sqrt(norm));
  f.box = {10.5, 20.25, 100, 120, 0.97f};
  f.quality.interocular_px = 42;
  f.quality.sharpness = 0.5;
  f.enrolled_at_ms = 1'700'000'000'000;
  f.label = std::move(label);
  return f;
}

fm::ErrorCode code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const fm::Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "the call did not throw";
  return fm::ErrorCode::internal;
}

std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const fm::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(GalleryPostgres, TwoReplicasOnOneDatabaseFollowEachOther) {
  PostgresServer server;
  fm::Gallery first(fm::open_gallery_store(server.dsn()), verifier());
  fm::Gallery second(fm::open_gallery_store(server.dsn()), verifier());
  EXPECT_EQ(first.store().kind(), "postgresql");
  EXPECT_EQ(second.sync(), 0);
  EXPECT_EQ(second.face_count(), 0u);

  // Enrolled through one replica, the very next search through the other finds it: every search checks
  // the change sequence first.
  const auto enrolled = first.enrol_file("obama", face("obama_1.jpg"), "first replica");
  const auto found = second.identify_file(face("obama_2.jpg"));
  ASSERT_TRUE(found.identified.has_value());
  EXPECT_EQ(*found.identified, "obama");
  ASSERT_FALSE(found.candidates.empty());
  EXPECT_EQ(found.candidates[0].face_id, enrolled.face.id);
  EXPECT_EQ(found.candidates[0].label, "first replica");
  EXPECT_EQ(found.gallery_size, 1u);

  // A replica waiting for changes (LISTEN) is woken by the other's enrolment, well before its timeout.
  const fm::ChangeSeq known = second.store().current_seq();
  auto waiting = std::async(std::launch::async,
                            [&] { return second.store().wait_for_change(known, std::chrono::seconds(30)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto biden = first.enrol_file("biden", face("biden_1.jpg"));
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "NOTIFY never arrived";
  EXPECT_EQ(waiting.get(), biden.face.seq);
  const auto biden_found = second.identify_file(face("biden_2.jpg"));
  ASSERT_TRUE(biden_found.identified.has_value());
  EXPECT_EQ(*biden_found.identified, "biden");

  // A deletion acknowledged by one replica is never answered by the other afterwards.
  EXPECT_EQ(second.delete_subject("obama"), 1u);
  const auto after = first.identify_file(face("obama_2.jpg"));
  for (const auto& c : after.candidates) EXPECT_NE(c.subject, "obama");
  EXPECT_NE(after.identified, std::optional<std::string>("obama"));
  EXPECT_FALSE(first.subject("obama").has_value());
  EXPECT_EQ(first.list_subjects().total_subjects, 1u);
}

TEST(GalleryPostgres, ServerDownIsUnavailableThenRecoversWithoutReopening) {
  PostgresServer server;
  fm::Gallery gallery(fm::open_gallery_store(server.dsn()), verifier());
  gallery.enrol_file("kit", face("kit_harington_1.jpg"));
  ASSERT_EQ(gallery.identify_file(face("kit_harington_2.jpg")).identified, std::optional<std::string>("kit"));

  server.stop();
  const auto identify = [&] { gallery.identify_file(face("kit_harington_2.jpg")); };
  EXPECT_EQ(code_of(identify), fm::ErrorCode::unavailable);
  const std::string message = message_of(identify);
  EXPECT_NE(message.find("PostgreSQL gallery"), std::string::npos) << message;
  std::string address = "127.0.0.1:";
  address += std::to_string(server.port());
  EXPECT_NE(message.find(address), std::string::npos) << message;
  EXPECT_NE(message.find("reconnects"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] { gallery.enrol_file("obama", face("obama_1.jpg")); }), fm::ErrorCode::unavailable);
  EXPECT_EQ(code_of([&] { gallery.list_subjects(); }), fm::ErrorCode::unavailable);
  EXPECT_EQ(code_of([&] { gallery.delete_subject("kit"); }), fm::ErrorCode::unavailable);
  // Comparing two photos needs no gallery.
  const auto verdict =
      verifier().verify_files(face("obama_1.jpg"), face("obama_2.jpg"), fm::recommended_pipeline());
  EXPECT_TRUE(verdict.verified);

  // Back: the same Gallery object works again on its first call, with nothing lost and nothing doubled.
  server.start();
  const auto again = gallery.identify_file(face("kit_harington_2.jpg"));
  EXPECT_EQ(again.identified, std::optional<std::string>("kit"));
  EXPECT_EQ(again.gallery_faces, 1u);
  gallery.enrol_file("obama", face("obama_1.jpg"));
  EXPECT_EQ(gallery.list_subjects().total_subjects, 2u);
}

TEST(GalleryPostgres, NewerOrDamagedSchemaIsAClearError) {
  PostgresServer server;
  std::mt19937 rng(1);
  fm::open_gallery_store(server.dsn())->add_face(synthetic_face("someone", rng));
  EXPECT_EQ(server.psql("SELECT version FROM facematch_schema"), "1\n");

  server.psql("UPDATE facematch_schema SET version = 7");
  auto newer = fm::open_gallery_store(server.dsn());
  EXPECT_EQ(code_of([&] { newer->current_seq(); }), fm::ErrorCode::unavailable);
  const std::string message = message_of([&] { newer->list_subjects({}, 10); });
  EXPECT_NE(message.find("schema version 7"), std::string::npos) << message;
  EXPECT_NE(message.find("upgrade facematch"), std::string::npos) << message;

  server.psql("DROP TABLE facematch_schema");
  const std::string damaged = message_of([&] { fm::open_gallery_store(server.dsn())->current_seq(); });
  EXPECT_NE(damaged.find("no schema version"), std::string::npos) << damaged;
}

TEST(GalleryPostgres, HostileNamesAndLabelsAreInert) {
  PostgresServer server;
  auto store = fm::open_gallery_store(server.dsn());
  std::mt19937 rng(2);
  const std::vector<std::string> labels = {
      "Robert'); DROP TABLE facematch_faces; --",
      "\" OR 1=1 --",
      "$1 $2 \\x00 %s %n",
      "tab\tand unicode: \u00e9\u4e2d\U0001F600",
      std::string(fm::kMaxLabelBytes, 'x'),
  };
  std::vector<fm::FaceId> ids;
  for (const auto& label : labels) {
    ASSERT_TRUE(fm::valid_label(label));
    ids.push_back(store->add_face(synthetic_face("robert", rng, label)).id);
  }
  const auto robert = store->get_subject("robert");
  ASSERT_TRUE(robert.has_value());
  ASSERT_EQ(robert->faces.size(), labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) EXPECT_EQ(robert->faces[i].label, labels[i]) << i;
  // The rest of the record comes back bit for bit.
  std::mt19937 same_rng(2);
  const auto first = synthetic_face("robert", same_rng);
  EXPECT_EQ(robert->faces[0].descriptor.values, first.descriptor.values);
  EXPECT_EQ(robert->faces[0].descriptor.model, "test-model");
  EXPECT_EQ(robert->faces[0].box.x, 10.5);
  EXPECT_EQ(robert->faces[0].box.y, 20.25);
  EXPECT_EQ(robert->faces[0].box.score, 0.97f);
  EXPECT_EQ(robert->faces[0].quality.interocular_px, 42);
  EXPECT_EQ(robert->faces[0].enrolled_at_ms, 1'700'000'000'000);

  // Names that are SQL are just names nobody enrolled; bytes PostgreSQL cannot hold as text are refused
  // as invalid arguments, never run.
  for (const char* name : {"robert' OR '1'='1", "x'; DELETE FROM facematch_faces; --", "%", "robert%"}) {
    EXPECT_FALSE(store->get_subject(name).has_value()) << name;
    EXPECT_EQ(store->delete_subject(name), 0u) << name;
    EXPECT_FALSE(store->delete_face(name, ids[0])) << name;
  }
  for (const std::string& name : {std::string("rob\0ert", 7), std::string("\xff\xfe", 2)}) {
    EXPECT_EQ(code_of([&] { store->get_subject(name); }), fm::ErrorCode::invalid_argument);
  }
  EXPECT_EQ(store->list_subjects("' OR 1=1 --", 10).subjects.size(), 1u);

  // The same through the Gallery: invalid names and labels are refused before the database.
  fm::Gallery gallery(fm::open_gallery_store(server.dsn()), verifier());
  for (const std::string& name : {std::string("a'b"), std::string("a b"), std::string(129, 'a'),
                                  std::string(), std::string("x\0y", 3)}) {
    EXPECT_EQ(code_of([&] { gallery.enrol_file(name, face("obama_1.jpg")); }),
              fm::ErrorCode::invalid_argument);
  }
  EXPECT_EQ(code_of([&] { gallery.enrol_file("ok", face("obama_1.jpg"), std::string("nul\0byte", 8)); }),
            fm::ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { gallery.enrol_file("ok", face("obama_1.jpg"), std::string("\xc3\x28")); }),
            fm::ErrorCode::invalid_argument);

  std::string count = std::to_string(labels.size());
  count += "\n";
  EXPECT_EQ(server.psql("SELECT COUNT(*) FROM facematch_faces"), count);
  EXPECT_EQ(server.psql("SELECT COUNT(*) FROM facematch_subjects"), "1\n");
}

TEST(GalleryPostgres, ConcurrentWritersCommitWholeRecordsInSequenceOrder) {
  PostgresServer server;
  constexpr int kThreads = 6, kPerThread = 15;
  std::vector<std::unique_ptr<fm::GalleryStore>> stores;
  stores.push_back(fm::open_gallery_store(server.dsn()));
  stores.push_back(fm::open_gallery_store(server.dsn()));
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  std::vector<std::vector<fm::FaceRecord>> written(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      auto& store = *stores[static_cast<std::size_t>(t % 2)];
      try {
        for (int i = 0; i < kPerThread; ++i) {
          // Several threads create the same subjects at once.
          written[static_cast<std::size_t>(t)].push_back(
              store.add_face(synthetic_face(std::string(1, 's') += std::to_string(i % 5), rng)));
          if (i % 4 == 3)
            store.delete_face(written[static_cast<std::size_t>(t)].back().subject,
                              written[static_cast<std::size_t>(t)].back().id);
        }
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << e.what();
      }
    });
  }
  // A follower catching up while the writers run never sees a gap: replaying its change sets gives
  // exactly the final table.
  auto follower = fm::open_gallery_store(server.dsn());
  std::map<fm::FaceId, fm::FaceRecord> replica;
  fm::ChangeSeq seen = 0;
  const auto catch_up = [&] {
    const auto cs = follower->changes_since(seen);
    EXPECT_GE(cs.seq, seen);
    for (const auto& f : cs.added) replica[f.id] = f;
    for (const auto id : cs.removed) replica.erase(id);
    seen = cs.seq;
  };
  for (int i = 0; i < 20; ++i) catch_up();
  for (auto& t : threads) t.join();
  catch_up();
  ASSERT_EQ(failures, 0);

  std::set<fm::ChangeSeq> seqs;
  std::set<fm::FaceId> ids;
  std::size_t expected_faces = 0;
  for (const auto& per_thread : written) {
    for (std::size_t i = 0; i < per_thread.size(); ++i) {
      seqs.insert(per_thread[i].seq);
      ids.insert(per_thread[i].id);
      if (i % 4 != 3) ++expected_faces;
    }
  }
  EXPECT_EQ(ids.size(), std::size_t(kThreads * kPerThread));
  EXPECT_EQ(seqs.size(), std::size_t(kThreads * kPerThread));
  // Every add and every delete took one number: nothing skipped, nothing shared.
  const auto deletes = std::size_t(kThreads * kPerThread) - expected_faces;
  EXPECT_EQ(follower->current_seq(), static_cast<fm::ChangeSeq>(kThreads * kPerThread + deletes));

  const auto all = follower->load_all();
  EXPECT_EQ(all.added.size(), expected_faces);
  EXPECT_EQ(replica.size(), expected_faces);
  for (const auto& f : all.added) {
    ASSERT_TRUE(replica.contains(f.id)) << f.id;
    EXPECT_EQ(replica[f.id].descriptor.values, f.descriptor.values);
    EXPECT_EQ(f.descriptor.values.size(), 128u);
  }
}

TEST(GalleryPostgres, ServiceAnswers503WhileTheDatabaseIsDownAndRecovers) {
  PostgresServer server;
  fm::testing::ServerProcess service({"--gallery", server.dsn()});
  service.wait_ready();
  auto client = service.client();
  using nlohmann::json;
  const auto photo = [](const std::string& name) {
    return fm::testing::base64(fm::testing::read_text(face(name)));
  };
  const auto post = [&](const std::string& path, const json& body) {
    auto r = client->Post(path, body.dump(), "application/json");
    EXPECT_TRUE(r) << path << ": no answer; log:\n" << service.log();
    return r;
  };
  const json enrol = {{"img", photo("obama_1.jpg")}};
  const json identify = {{"img", photo("obama_2.jpg")}};
  const json verify = {{"img1", photo("obama_1.jpg")}, {"img2", photo("obama_2.jpg")}};
  auto r = post("/subjects/obama/faces", enrol);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  r = post("/identify", identify);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["identified"], "obama");

  server.stop();
  for (const auto& [path, body] :
       {std::pair{"/identify", identify}, std::pair{"/subjects/biden/faces", enrol}}) {
    r = post(path, body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503) << path << ": " << r->body;
    const auto answer = json::parse(r->body, nullptr, false);
    EXPECT_NE(answer.dump().find("PostgreSQL gallery"), std::string::npos) << r->body;
  }
  auto listed = client->Get("/subjects");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 503) << listed->body;
  // Two photos compared need no gallery.
  r = post("/verify", verify);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["verified"], true);

  // Back: the same process answers again, without a restart.
  server.start();
  r = post("/identify", identify);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["identified"], "obama");
  EXPECT_TRUE(service.running());
}
