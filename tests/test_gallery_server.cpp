// The gallery routes of `facematch serve` over real HTTP: enrol, list, show, identify, verify against a
// subject, delete; two replicas on one database; API keys; a damaged gallery file answered 503 while
// /verify of two photos keeps working.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "facematch/embed.hpp"
#include "facematch/gallery.hpp"
#include "facematch/operating_point.hpp"
#include "gallery_test_support.hpp"
#include "test_server_harness.hpp"
#include "test_support.hpp"

namespace {

using facematch::testing::base64;
using facematch::testing::read_text;
using facematch::testing::ServerProcess;
using facematch::testing::shared_face;
using nlohmann::json;

std::string photo(const std::string& name) { return read_text(shared_face(name)); }

json body_of(const httplib::Result& r) {
  if (!r) throw std::runtime_error("no HTTP answer: " + httplib::to_string(r.error()));
  return json::parse(r->body);
}

void expect_error(const httplib::Result& r, int status, const std::string& code) {
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, status) << r->body;
  const auto j = json::parse(r->body);
  ASSERT_TRUE(j.contains("error")) << r->body;
  EXPECT_EQ(j["error"]["code"], code) << r->body;
}

httplib::Result post(httplib::Client& c, const std::string& path, const json& body) {
  return c.Post(path.c_str(), body.dump(), "application/json");
}

json img(const std::string& name) { return {{"img", base64(photo(name))}}; }

std::vector<std::string> gallery_args(const std::string& location) {
  return {"--workers", "2", "--gallery", location};
}

TEST(GalleryServer, EnrolIdentifyVerifyDelete) {
  const auto location = facematch::testing::gallery_store_locations().at(0).make();
  ServerProcess server(gallery_args(location));
  server.wait_ready();
  auto c = server.client();

  auto r = post(*c, "/subjects/obama/faces", img("obama_1.jpg"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const auto obama = body_of(r);
  EXPECT_EQ(obama["subject"], "obama");
  EXPECT_GT(obama["face_id"].get<long long>(), 0);
  EXPECT_GT(obama["box"]["w"].get<double>(), 50);
  // The box is written as on every other route; the score beside it, as a face's is.
  EXPECT_EQ(obama["box"].size(), 4u) << obama;
  EXPECT_GT(obama["score"].get<double>(), 0.5) << obama;
  EXPECT_TRUE(obama["quality"]["acceptable"].get<bool>());
  EXPECT_EQ(obama["model"], facematch::kEmbeddingModelId);
  EXPECT_FALSE(obama.contains("descriptor")) << "descriptors stay in the database";

  // Multipart, with a label that looks like SQL: stored verbatim.
  const std::string label = "x'); DROP TABLE faces; -- \"quoted\"";
  httplib::MultipartFormDataItems form = {{"img", photo("biden_1.jpg"), "biden_1.jpg", "image/jpeg"},
                                          {"label", label, "", ""}};
  r = c->Post("/subjects/biden/faces", form);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(body_of(r)["label"], label);

  r = post(*c, "/subjects/x/faces", img("noface_grass.jpg"));
  expect_error(r, 422, "no_face");
  EXPECT_EQ(body_of(r)["error"]["image"], "img");
  auto several = img("multi_obama_biden.jpg");
  several["face_policy"] = "error";
  expect_error(post(*c, "/subjects/x/faces", several), 422, "too_many_faces");
  expect_error(post(*c, "/subjects/x/faces", {{"img", "not base64!"}}), 400, "bad_image");

  // Listing, in pages.
  r = c->Get("/subjects?limit=1");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto page = body_of(r);
  EXPECT_EQ(page["total"], 2);
  ASSERT_EQ(page["subjects"].size(), 1u);
  EXPECT_EQ(page["subjects"][0]["subject"], "biden");
  EXPECT_EQ(page["next_after"], "biden");
  page = body_of(c->Get("/subjects?limit=1&after=biden"));
  EXPECT_EQ(page["subjects"][0]["subject"], "obama");
  EXPECT_TRUE(page["next_after"].is_null());
  expect_error(c->Get("/subjects?limit=0"), 400, "bad_request");

  const auto shown = body_of(c->Get("/subjects/biden"));
  ASSERT_EQ(shown["faces"].size(), 1u);
  EXPECT_EQ(shown["faces"][0]["label"], label);
  expect_error(c->Get("/subjects/nobody"), 404, "not_found");

  // 1:N, at the stricter built-in point, saying which point and gallery size.
  r = post(*c, "/identify", img("obama_2.jpg"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto id = body_of(r);
  EXPECT_EQ(id["identified"], "obama");
  EXPECT_EQ(id["candidates"][0]["subject"], "obama");
  EXPECT_EQ(id["candidates"][0]["face_id"], obama["face_id"]);
  EXPECT_GT(id["candidates"][0]["similarity"].get<double>(), 0.5);
  EXPECT_EQ(id["operating_point"]["name"], facematch::kDefaultIdentifyOperatingPoint);
  EXPECT_DOUBLE_EQ(id["threshold"].get<double>(), facematch::builtin_operating_points().threshold_for(
                                                      facematch::kDefaultIdentifyOperatingPoint));
  EXPECT_EQ(id["gallery_size"], 2);
  EXPECT_EQ(id["img"]["decode_scale"], 1);  // the probe as every route writes an image
  EXPECT_EQ(id["img"]["faces"][0]["box"].size(), 4u);
  auto one = img("obama_2.jpg");
  one["top_k"] = 1;
  EXPECT_EQ(body_of(post(*c, "/identify", one))["candidates"].size(), 1u);
  auto both = img("obama_2.jpg");
  both["threshold"] = 0.5;
  both["operating_point"] = "far1e-3";
  expect_error(post(*c, "/identify", both), 400, "bad_request");
  auto zero = img("obama_2.jpg");
  zero["top_k"] = 0;
  expect_error(post(*c, "/identify", zero), 400, "bad_request");

  // 1:1 against a subject, and /verify of two photos as before.
  auto v = body_of(post(*c, "/verify", {{"img1", base64(photo("biden_2.jpg"))}, {"subject", "biden"}}));
  EXPECT_TRUE(v["verified"].get<bool>()) << v.dump();
  EXPECT_EQ(v["subject"], "biden");
  EXPECT_EQ(v["faces_compared"], 1);
  EXPECT_TRUE(v["img1"].contains("decode_scale")) << v.dump();
  v = body_of(post(*c, "/verify", {{"img1", base64(photo("biden_2.jpg"))}, {"subject", "obama"}}));
  EXPECT_FALSE(v["verified"].get<bool>()) << v.dump();
  expect_error(post(*c, "/verify", {{"img1", base64(photo("biden_2.jpg"))}, {"subject", "nobody"}}), 404,
               "not_found");
  r = post(*c, "/verify", {{"img1", base64(photo("obama_1.jpg"))}, {"img2", base64(photo("obama_2.jpg"))}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(body_of(r)["verified"].get<bool>());

  // A second replica on the same database sees the enrolments, and the deletions of the first.
  ServerProcess replica(gallery_args(location));
  replica.wait_ready();
  auto c2 = replica.client();
  EXPECT_EQ(body_of(post(*c2, "/identify", img("obama_2.jpg")))["identified"], "obama");
  r = post(*c2, "/subjects/kit/faces", img("kit_harington_1.jpg"));
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(body_of(post(*c, "/identify", img("kit_harington_2.jpg")))["identified"], "kit");

  const std::string face_path = "/subjects/obama/faces/" + std::to_string(obama["face_id"].get<long long>());
  r = c->Delete(face_path.c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204) << r->body;
  expect_error(c->Delete(face_path.c_str()), 404, "not_found");
  expect_error(c->Delete("/subjects/obama/faces/abc"), 400, "bad_request");
  r = c->Delete("/subjects/biden");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204) << r->body;
  expect_error(c->Delete("/subjects/biden"), 404, "not_found");
  id = body_of(post(*c2, "/identify", img("obama_2.jpg")));
  EXPECT_TRUE(id["identified"].is_null()) << id.dump();
  for (const auto& cand : id["candidates"]) {
    EXPECT_NE(cand["subject"], "obama");
    EXPECT_NE(cand["subject"], "biden");
  }
  EXPECT_EQ(id["gallery_size"], 1);
}

TEST(GalleryServer, HostileNamesAndLabelsAre400) {
  const auto location = facematch::testing::gallery_store_locations().at(0).make();
  ServerProcess server(gallery_args(location));
  server.wait_ready();
  auto c = server.client();
  for (const std::string path : {"/subjects/o%27brien/faces", "/subjects/a%20b/faces", "/subjects/%00/faces",
                                 "/subjects/caf%C3%A9/faces", "/subjects/%FF/faces",
                                 "/subjects/x%27%3B%20DROP%20TABLE%20faces%3B--/faces"})
    expect_error(post(*c, path, img("obama_1.jpg")), 400, "bad_request");
  expect_error(post(*c, "/subjects/" + std::string(129, 'a') + "/faces", img("obama_1.jpg")), 400,
               "bad_request");
  // A name holding '/' splits the path: no route. A 10,000-character name makes the request line too long.
  expect_error(post(*c, "/subjects/..%2F..%2Fetc/faces", img("obama_1.jpg")), 404, "not_found");
  expect_error(post(*c, "/subjects/" + std::string(10000, 'a') + "/faces", img("obama_1.jpg")), 414,
               "bad_request");
  auto nul = img("obama_1.jpg");
  nul["label"] = std::string("a\0b", 3);
  expect_error(post(*c, "/subjects/ok/faces", nul), 400, "bad_request");
  auto long_label = img("obama_1.jpg");
  long_label["label"] = std::string(10000, 'x');
  expect_error(post(*c, "/subjects/ok/faces", long_label), 400, "bad_request");
  // Raw non-UTF-8 bytes in the JSON text: not JSON.
  std::string raw = img("obama_1.jpg").dump();
  raw.insert(raw.size() - 1, ",\"label\":\"\xff\xfe\"");
  auto r = c->Post("/subjects/ok/faces", raw, "application/json");
  expect_error(r, 400, "bad_request");
  // Nothing was stored, and the file was made by no refused request.
  EXPECT_EQ(body_of(c->Get("/subjects"))["total"], 0);
  EXPECT_FALSE(std::filesystem::exists(location));
}

TEST(GalleryServer, ApiKeysProtectEveryGalleryRoute) {
  const auto location = facematch::testing::gallery_store_locations().at(0).make();
  ServerProcess server(gallery_args(location), {"FACEMATCH_API_KEYS=gallery-key"});
  server.wait_ready();
  auto c = server.client();
  expect_error(c->Get("/subjects"), 401, "unauthorized");
  expect_error(c->Get("/subjects/a"), 401, "unauthorized");
  expect_error(c->Delete("/subjects/a"), 401, "unauthorized");
  expect_error(c->Delete("/subjects/a/faces/1"), 401, "unauthorized");
  expect_error(post(*c, "/subjects/a/faces", img("obama_1.jpg")), 401, "unauthorized");
  expect_error(post(*c, "/identify", img("obama_1.jpg")), 401, "unauthorized");
  expect_error(post(*c, "/verify", {{"img1", base64(photo("obama_1.jpg"))}, {"subject", "a"}}), 401,
               "unauthorized");
  httplib::Headers key = {{"x-api-key", "gallery-key"}};
  auto r = c->Get("/subjects", key);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = c->Post("/subjects/a/faces", key, img("obama_1.jpg").dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
}

TEST(GalleryServer, DamagedGalleryIs503WhileVerifyOfTwoPhotosWorks) {
  const std::filesystem::path location = facematch::testing::gallery_store_locations().at(0).make();
  {
    std::ofstream out(location, std::ios::binary);
    out << std::string(8192, '\x5a');
  }
  ServerProcess server(gallery_args(location.string()));
  server.wait_ready();
  auto c = server.client();
  auto r = c->Get("/subjects");
  expect_error(r, 503, "unavailable");
  EXPECT_NE(body_of(r)["error"]["message"].get<std::string>().find("damaged"), std::string::npos) << r->body;
  expect_error(c->Get("/subjects/a"), 503, "unavailable");
  expect_error(c->Delete("/subjects/a"), 503, "unavailable");
  expect_error(post(*c, "/subjects/a/faces", img("obama_1.jpg")), 503, "unavailable");
  expect_error(post(*c, "/identify", img("obama_1.jpg")), 503, "unavailable");
  expect_error(post(*c, "/verify", {{"img1", base64(photo("obama_1.jpg"))}, {"subject", "a"}}), 503,
               "unavailable");
  r = post(*c, "/verify", {{"img1", base64(photo("obama_1.jpg"))}, {"img2", base64(photo("obama_2.jpg"))}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(body_of(r)["verified"].get<bool>());
  // The damaged file moved away: the same process serves the gallery again, no restart.
  std::filesystem::rename(location, location.string() + ".damaged");
  r = c->Get("/subjects");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = post(*c, "/subjects/a/faces", img("obama_1.jpg"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
}

TEST(GalleryServer, ReadOnlyGalleryIs503WhileVerifyOfTwoPhotosWorks) {
  const std::filesystem::path location = facematch::testing::gallery_store_locations().at(0).make();
  facematch::open_gallery_store(location.string())->add_face([] {
    facematch::FaceRecord r;
    r.subject = "a";
    r.descriptor = {std::vector<float>(128, 0.1f), facematch::kEmbeddingModelId};
    return r;
  }());
  if (!facematch::testing::set_read_only(location, true))
    GTEST_SKIP() << "cannot make the file read-only here";
  ServerProcess server(gallery_args(location.string()));
  server.wait_ready();
  auto c = server.client();
  auto r = c->Get("/subjects");
  expect_error(r, 503, "unavailable");
  EXPECT_NE(body_of(r)["error"]["message"].get<std::string>().find("cannot be written"), std::string::npos)
      << r->body;
  expect_error(post(*c, "/subjects/a/faces", img("obama_1.jpg")), 503, "unavailable");
  expect_error(post(*c, "/identify", img("obama_1.jpg")), 503, "unavailable");
  r = post(*c, "/verify", {{"img1", base64(photo("obama_1.jpg"))}, {"img2", base64(photo("obama_2.jpg"))}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(facematch::testing::set_read_only(location, false));
  r = c->Delete("/subjects/a");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204) << r->body;
}

}  // namespace
