// `facematch serve` over real HTTP: every route, the original cloud function's API as its client sent
// it, every error status, API keys, overload and SIGTERM drain.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <future>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <thread>

#include "facematch/operating_point.hpp"
#include "non_faces.hpp"
#include "server/server.hpp"
#include "test_server_harness.hpp"
#include "test_support.hpp"

namespace {

using facematch::testing::base64;
using facematch::testing::legacy_image;
using facematch::testing::read_text;
using facematch::testing::ServerProcess;
using facematch::testing::shared_face;
using nlohmann::json;

std::string photo(const std::string& name) { return read_text(shared_face(name)); }

// One server for the tests that need no special flags (starting one costs a model load and warm-up).
ServerProcess& main_server() {
  static ServerProcess* server = [] {
    auto* s = new ServerProcess({"--workers", "2"});
    s->wait_ready();
    return s;
  }();
  return *server;
}

json parse(const httplib::Result& r) {
  if (!r) throw std::runtime_error("no HTTP answer: " + httplib::to_string(r.error()));
  return json::parse(r->body);
}

void expect_error(const httplib::Result& r, int status, const std::string& code) {
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  const auto j = json::parse(r->body);
  ASSERT_TRUE(j.contains("error")) << r->body;
  EXPECT_EQ(j["error"]["code"], code) << r->body;
  EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
}

httplib::Result post_json(httplib::Client& c, const std::string& path, const json& body) {
  return c.Post(path.c_str(), body.dump(), "application/json");
}

json verify_body(const std::string& a, const std::string& b) {
  return {{"img1", base64(photo(a))}, {"img2", base64(photo(b))}};
}

void expect_cors(const httplib::Result& r) {
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Methods"), "GET,POST");
}

TEST(Server, HealthReadyAndMetrics) {
  auto c = main_server().client();
  auto h = c->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(parse(h)["status"], "ok");
  auto r = c->Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto v = post_json(*c, "/verify", verify_body("obama_1.jpg", "obama_2.jpg"));
  ASSERT_TRUE(v) << httplib::to_string(v.error()) << main_server().log();
  ASSERT_EQ(v->status, 200);
  auto m = c->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  for (const char* needle :
       {"facematch_http_requests_total{method=\"POST\",route=\"/verify\",status=\"200\"}",
        "facematch_stage_duration_seconds_bucket{stage=\"detect\",le=\"0.05\"}",
        "facematch_stage_duration_seconds_count{stage=\"embed\"}",
        "facematch_stage_duration_seconds_sum{stage=\"decode\"}",
        "facematch_stage_duration_seconds_bucket{stage=\"landmarks\"",
        "facematch_stage_duration_seconds_bucket{stage=\"align\"",
        "facematch_inference_duration_seconds_count ", "facematch_queue_depth 0",
        "facematch_in_flight_requests ", "facematch_faces_detected_total ", "facematch_workers 2",
        "facematch_ready 1", "# TYPE facematch_http_request_duration_seconds histogram",
        "facematch_info{model=\"face-api-1.7.15/face_recognition_model\",precision=\"",
        "\",detector=\"cascade\",align=\"similarity\"} 1\n"})
    EXPECT_NE(m->body.find(needle), std::string::npos) << needle;
  // The precision asked for is the one the answers report, and each net's is in both.
  const auto answer = parse(v);
  const std::string asked = answer["precision"];
  EXPECT_NE(m->body.find("precision=\"" + asked + "\""), std::string::npos) << asked;
  for (const auto& [net, choice] : answer["nets"].items()) {
    const std::string line = "facematch_net_precision_info{net=\"" + net + "\",threads=\"" +
                             std::to_string(choice["threads"].get<int>()) + "\",precision=\"" +
                             choice["precision"].get<std::string>() + "\"} 1\n";
    EXPECT_NE(m->body.find(line), std::string::npos) << line << m->body;
    if (choice.contains("measured_ms")) {
      EXPECT_NE(m->body.find("facematch_net_precision_measured_seconds{net=\"" + net + "\""),
                std::string::npos)
          << net;
    }
  }
  EXPECT_TRUE(answer["nets"].contains("face_recognition_model")) << answer.dump();
}

TEST(Server, VerifyBase64SamePersonWithAndWithoutDataUri) {
  auto c = main_server().client();
  json body = {{"img1", base64(photo("obama_1.jpg"))},
               {"img2", "data:image/jpeg;base64," + base64(photo("obama_2.jpg"))}};
  auto r = post_json(*c, "/verify", body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto j = json::parse(r->body);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["match"], "Yes");
  EXPECT_LT(j["distance"].get<double>(), 0.6);
  EXPECT_EQ(j["threshold"], 0.6);
  EXPECT_GT(j["similarity"].get<double>(), 0.5);
  EXPECT_LE(j["similarity"].get<double>(), 1.0);
  EXPECT_EQ(j["model"], "face-api-1.7.15/face_recognition_model");
  EXPECT_EQ(j["detector"], "cascade");  // the service's default (docs/detection-recall.md)
  EXPECT_EQ(j["align"], "similarity");
  for (const char* img : {"img1", "img2"}) {
    for (const char* k : {"x", "y", "w", "h"}) EXPECT_TRUE(j["facial_areas"][img][k].is_number()) << img << k;
    EXPECT_GE(j[img]["faces"].size(), 1u);
    EXPECT_GT(j[img]["width"].get<int>(), 0);
    for (const char* stage : {"decode", "detect", "align"})
      EXPECT_GE(j["time_ms"][img][stage].get<double>(), 0) << stage;
  }
  EXPECT_GT(j["time_ms"]["landmarks"].get<double>(), 0);
  EXPECT_GT(j["time_ms"]["embed"].get<double>(), 0);
  EXPECT_GT(j["time_ms"]["total"].get<double>(), 0);
}

TEST(Server, VerifyMultipartDifferentPeopleAndOptions) {
  auto c = main_server().client();
  httplib::MultipartFormDataItems items = {{"img1", photo("obama_1.jpg"), "obama_1.jpg", "image/jpeg"},
                                           {"img2", photo("biden_2.jpg"), "biden_2.jpg", "image/jpeg"},
                                           {"align", "faceapi", "", ""}};
  auto r = c->Post("/verify", items);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["verified"], false);
  EXPECT_EQ(j["match"], "No");
  EXPECT_EQ(j["align"], "faceapi");
  EXPECT_LT(j["similarity"].get<double>(), 0.5);
  // A threshold above the distance turns the verdict; similarity is exactly 0.5 at the threshold.
  const double distance = j["distance"];
  items.push_back({"threshold", std::to_string(distance * 1.01), "", ""});
  j = json::parse(c->Post("/verify", items)->body);
  EXPECT_EQ(j["match"], "Yes");
  EXPECT_GT(j["similarity"].get<double>(), 0.5);
  EXPECT_LT(j["similarity"].get<double>(), 0.51);
}

TEST(Server, VerifyJsonOptions) {
  auto c = main_server().client();
  auto body = verify_body("obama_1.jpg", "obama_2.jpg");
  body["threshold"] = 0.05;
  body["detector"] = "tiny";
  body["face_policy"] = "best";
  auto r = post_json(*c, "/verify", body);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto j = json::parse(r->body);
  EXPECT_EQ(j["match"], "No");
  EXPECT_EQ(j["threshold"], 0.05);
  EXPECT_EQ(j["detector"], "tiny");
}

// One rule per pipeline setting (pipeline.hpp): a value the CLI refuses, a request refuses too, with the
// same message, in a JSON body and in a form (cascade_sure_score 0 once passed the CLI and failed in the
// detector).
TEST(Server, RefusesInvalidPipelineValuesAsTheCliDoes) {
  auto c = main_server().client();
  const auto img = shared_face("obama_1.jpg").string();
  const std::vector<std::pair<std::string, json>> invalid = {
      {"cascade_sure_score", 0}, {"cascade_sure_score", 1.5}, {"min_score", 1},   {"tiny_size", 100},
      {"border_retry", 2},       {"cascade_doubt_score", 1},  {"max_results", 0}, {"detector", "fast"}};
  for (const auto& [name, value] : invalid) {
    auto body = verify_body("obama_1.jpg", "obama_2.jpg");
    body[name] = value;
    const auto r = post_json(*c, "/verify", body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << name << " " << value;
    const auto message = json::parse(r->body)["error"]["message"].get<std::string>();
    EXPECT_NE(message.find(name == "detector" ? "detector 'fast'" : name + " must be "), std::string::npos)
        << message;

    const auto text = value.is_string() ? value.get<std::string>() : value.dump();
    const httplib::MultipartFormDataItems items = {
        {"img1", photo("obama_1.jpg"), "obama_1.jpg", "image/jpeg"},
        {"img2", photo("obama_2.jpg"), "obama_2.jpg", "image/jpeg"},
        {name, text, "", ""}};
    const auto form = c->Post("/verify", items);
    ASSERT_TRUE(form);
    EXPECT_EQ(form->status, 400);
    EXPECT_EQ(json::parse(form->body)["error"]["message"], message);

    std::string flag = "--" + name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    const std::string command = std::string(FACEMATCH_CLI) + " verify " + flag + " " + text + " " + img +
                                " " + img + " --models " + facematch::testing::models_dir().string() +
                                " 2>&1 >/dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string cli;
    char buffer[512];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) cli.append(buffer, n);
    EXPECT_EQ(WEXITSTATUS(::pclose(pipe)), 2) << command;
    EXPECT_EQ(cli, "facematch: invalid_argument: " + message + "\n") << command;
  }
}

// The original cloud function's client: cv2.imread, cv2.resize(224x224), img.tolist() with and
// without np.expand_dims, posted as {"truth", "check"}.
TEST(Server, OriginalApiSamePersonSaysYes) {
  auto c = main_server().client();
  const json body = {{"truth", legacy_image(shared_face("obama_1.jpg"), true)},
                     {"check", legacy_image(shared_face("obama_2.jpg"), true)}};
  auto r = post_json(*c, "/", body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, R"({"Match":"Yes"})");
  expect_cors(r);
}

TEST(Server, OriginalApiDifferentPeopleSaysNo) {
  auto c = main_server().client();
  const json body = {{"truth", legacy_image(shared_face("alex_lacamoire_1.jpg"), false)},
                     {"check", legacy_image(shared_face("shea_whigham.jpg"), false)}};
  auto r = post_json(*c, "/", body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, R"({"Match":"No"})");
  expect_cors(r);
}

TEST(Server, OriginalApiRefusesImagesWithoutAFace) {
  // Two identical smooth gradients used to be compared whole and matched: an image without a face is
  // now a 422 that still says "Match": "No" (its clients read only that field) and keeps CORS.
  json rows = json::array();
  for (int y = 0; y < 224; ++y) {
    json row = json::array();
    for (int x = 0; x < 224; ++x) row.push_back({x, y, (x + y) / 2});
    rows.push_back(std::move(row));
  }
  auto c = main_server().client();
  for (const auto& check : {rows, legacy_image(shared_face("obama_1.jpg"), false)}) {
    auto r = post_json(*c, "/", {{"truth", rows}, {"check", check}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 422) << r->body;
    const auto j = json::parse(r->body);
    EXPECT_EQ(j["Match"], "No") << r->body;
    EXPECT_EQ(j["error"]["code"], "no_face") << r->body;
    expect_cors(r);
  }
}

// No route says "same person" for an input without a real face (non_faces.hpp): each against itself (the
// closest a pair can be) and against a real photo, on /verify as PNG and on the original route as its
// clients send images.
TEST(Server, NoRouteMatchesImagesWithoutAFace) {
  auto c = main_server().client();
  const auto real = facematch::testing::read_bytes(shared_face("obama_1.jpg"));
  const std::string real_b64 = base64(std::string(real.begin(), real.end()));
  const cv::Mat real_bgr = cv::imread(shared_face("obama_1.jpg").string());
  for (const auto& input : facematch::testing::non_faces()) {
    cv::Mat bgr;
    cv::cvtColor(input.rgb, bgr, cv::COLOR_RGB2BGR);
    std::vector<uchar> png;
    cv::imencode(".png", bgr, png);
    const std::string b64 = base64(std::string(png.begin(), png.end()));
    for (const auto& other : {b64, real_b64}) {
      auto r = post_json(*c, "/verify", {{"img1", b64}, {"img2", other}});
      ASSERT_TRUE(r) << input.name;
      EXPECT_EQ(r->status, 422) << input.name << ": " << r->body;
      EXPECT_EQ(r->body.find("\"verified\":true"), std::string::npos) << input.name;
    }
    for (const auto& other : {legacy_image(bgr, true), legacy_image(real_bgr, true)}) {
      auto r = post_json(*c, "/", {{"truth", other}, {"check", legacy_image(bgr, true)}});
      ASSERT_TRUE(r) << input.name;
      EXPECT_EQ(r->status, 422) << input.name << ": " << r->body;
      EXPECT_EQ(json::parse(r->body)["Match"], "No") << input.name;
    }
  }
}

TEST(Server, QualityIsAdviceUnlessMinQualityIsAsked) {
  auto c = main_server().client();
  auto body = verify_body("lowlight_1.jpg", "obama_1.jpg");
  auto advised = post_json(*c, "/verify", body);
  ASSERT_TRUE(advised);
  ASSERT_EQ(advised->status, 200) << advised->body;
  const auto answer = json::parse(advised->body);
  EXPECT_EQ(answer["img1"]["faces"][0]["quality"]["reasons"], json::array({"dark"})) << advised->body;
  EXPECT_TRUE(answer["img2"]["faces"][0]["quality"]["reasons"].empty()) << advised->body;

  body["min_quality"] = true;
  auto refused = post_json(*c, "/verify", body);
  expect_error(refused, 422, "low_quality");
  EXPECT_NE(json::parse(refused->body)["error"]["message"].get<std::string>().find(
                "img1: the face's quality is too poor (dark)"),
            std::string::npos)
      << refused->body;
  body["min_quality"] = "yes";
  expect_error(post_json(*c, "/verify", body), 400, "bad_request");
}

// The preflight allows the headers the API reads, the key among them (a page on another origin could
// not send x-api-key), and every answer of every route carries the origin (only POST / did).
TEST(Server, CorsOnEveryRouteAndPreflightAllowsTheKeyHeaders) {
  auto c = main_server().client();
  for (const char* path : {"/", "/verify", "/detect", "/embed"}) {
    auto r = c->Options(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 204);
    expect_cors(r);
    EXPECT_EQ(r->get_header_value("Access-Control-Allow-Headers"), "Content-Type, x-api-key, Authorization");
    EXPECT_EQ(r->get_header_value("Access-Control-Max-Age"), "3600");
  }
  auto v = post_json(*c, "/verify", verify_body("obama_1.jpg", "obama_2.jpg"));
  ASSERT_EQ(v->status, 200);
  expect_cors(v);
  auto d = post_json(*c, "/detect", {{"img", base64(photo("obama_1.jpg"))}});
  ASSERT_EQ(d->status, 200);
  expect_cors(d);
  auto e = post_json(*c, "/embed", {{"img", "not base64!"}});
  EXPECT_EQ(e->status, 400);
  expect_cors(e);
  expect_cors(c->Get("/healthz"));
}

// --cors-origin (and FACEMATCH_CORS_ORIGIN) lists the pages that may call the API; '' turns CORS off.
TEST(Server, CorsOriginIsASetting) {
  ServerProcess listed({"--workers", "1"},
                       {"FACEMATCH_CORS_ORIGIN=https://app.example, https://admin.example"});
  ServerProcess off({"--workers", "1", "--cors-origin", ""});
  listed.wait_ready();
  off.wait_ready();
  auto c = listed.client();
  c->set_default_headers({{"Origin", "https://admin.example"}});
  auto r = c->Get("/healthz");
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "https://admin.example");
  EXPECT_EQ(r->get_header_value("Vary"), "Origin");
  r = c->Options("/verify");
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "https://admin.example");
  EXPECT_NE(r->get_header_value("Access-Control-Allow-Headers").find("x-api-key"), std::string::npos);
  c->set_default_headers({{"Origin", "https://evil.example"}});
  EXPECT_FALSE(c->Get("/healthz")->has_header("Access-Control-Allow-Origin"));
  auto o = off.client();
  const json legacy = {{"truth", legacy_image(shared_face("obama_1.jpg"), false)},
                       {"check", legacy_image(shared_face("obama_2.jpg"), false)}};
  r = post_json(*o, "/", legacy);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));
}

TEST(Server, DetectJsonAndMultipart) {
  auto c = main_server().client();
  auto r = post_json(*c, "/detect", {{"img", base64(photo("multi_four_people.jpg"))}});
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["width"], 1024);
  EXPECT_EQ(j["height"], 484);
  EXPECT_GE(j["faces"].size(), 4u);
  EXPECT_EQ(j["faces"][0]["landmarks"].size(), 68u);
  httplib::MultipartFormDataItems items = {{"img", photo("noface_grass.jpg"), "grass.jpg", "image/jpeg"}};
  r = c->Post("/detect", items);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["faces"].size(), 0u);
}

TEST(Server, EmbedOneOrManyImages) {
  auto c = main_server().client();
  auto r = post_json(*c, "/embed",
                     {{"images", {base64(photo("obama_1.jpg")), base64(photo("multi_four_people.jpg"))}}});
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["model"], "face-api-1.7.15/face_recognition_model");
  ASSERT_EQ(j["images"].size(), 2u);
  EXPECT_EQ(j["images"][0]["faces"][0]["descriptor"].size(), 128u);
  EXPECT_GE(j["images"][1]["faces"].size(), 4u);
  for (const auto& f : j["images"][1]["faces"]) EXPECT_EQ(f["descriptor"].size(), 128u);
  httplib::MultipartFormDataItems items = {{"img", photo("obama_2.jpg"), "o.jpg", "image/jpeg"}};
  r = c->Post("/embed", items);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["images"].size(), 1u);
}

// The keys of a JSON object, sorted (nlohmann's objects iterate in key order).
std::vector<std::string> keys_of(const json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

using Keys = std::vector<std::string>;

// One shape for a face and one for an image in /verify, /detect and /embed (issue 14 item 15): /verify
// gave the compared face twice (facial_areas with score and landmarks beside img1.faces[]), only its
// answers had decode_scale, and its time_ms repeated the one batch of both images per image.
TEST(Server, OneShapeForAFaceAndAnImageOnEveryRoute) {
  auto c = main_server().client();
  const auto obama = base64(photo("obama_1.jpg"));
  const auto verified =
      parse(post_json(*c, "/verify", {{"img1", obama}, {"img2", base64(photo("obama_2.jpg"))}}));
  const auto detected = parse(post_json(*c, "/detect", {{"img", obama}}));
  const auto embedded = parse(post_json(*c, "/embed", {{"img", obama}}));
  ASSERT_TRUE(verified.contains("img1")) << verified;
  ASSERT_TRUE(detected.contains("faces")) << detected;
  ASSERT_TRUE(embedded.contains("images")) << embedded;

  const Keys image = {"chosen_face", "decode_scale", "faces", "height", "nets", "precision", "width"};
  EXPECT_EQ(keys_of(verified["img1"]), image);
  EXPECT_EQ(keys_of(embedded["images"][0]),
            (Keys{"chosen_face", "decode_scale", "faces", "height", "nets", "precision", "time_ms", "width"}));
  // /detect is one image, so the image's fields are the answer's own; it chooses no face.
  EXPECT_EQ(keys_of(detected),
            (Keys{"decode_scale", "detector", "faces", "height", "nets", "precision", "time_ms", "width"}));
  for (const auto* answer : {&verified["img1"], &detected, &embedded["images"][0]}) {
    EXPECT_EQ((*answer)["width"], 910);
    EXPECT_EQ((*answer)["height"], 1137);
    EXPECT_EQ((*answer)["decode_scale"], 1);  // under 2 x --reduced-decode-min-side 1024
  }

  const Keys face = {"box", "comparable", "landmarks", "quality", "score"};
  const auto& compared = verified["img1"]["faces"][verified["img1"]["chosen_face"].get<std::size_t>()];
  EXPECT_EQ(keys_of(compared), face);
  EXPECT_EQ(keys_of(detected["faces"][0]), (Keys{"box", "landmarks", "quality", "score"}));
  EXPECT_EQ(keys_of(embedded["images"][0]["faces"][0]),
            (Keys{"box", "comparable", "descriptor", "landmarks", "quality", "score"}));
  EXPECT_EQ(keys_of(compared["box"]), (Keys{"h", "w", "x", "y"}));
  // The same photo through the same pipeline: the same face, written the same way.
  EXPECT_EQ(detected["faces"][0]["box"], compared["box"]);
  EXPECT_EQ(embedded["images"][0]["faces"][0]["box"], compared["box"]);
  EXPECT_EQ(detected["faces"][0]["landmarks"], compared["landmarks"]);

  // deepface's facial_areas stays, as the compared faces' boxes and nothing else.
  for (const char* img : {"img1", "img2"})
    EXPECT_EQ(verified["facial_areas"][img],
              verified[img]["faces"][verified[img]["chosen_face"].get<std::size_t>()]["box"])
        << img;
  // One batch for the faces of both images: its time once, each image's own stages under its name.
  EXPECT_EQ(keys_of(verified["time_ms"]), (Keys{"embed", "img1", "img2", "landmarks", "total"}));
  EXPECT_EQ(keys_of(verified["time_ms"]["img1"]), (Keys{"align", "decode", "detect"}));
}

// Every error about an image names it in a field of its own, not only at the start of its message.
TEST(Server, ErrorsNameTheImageAtFault) {
  auto c = main_server().client();
  const auto image_of = [](const httplib::Result& r) {
    const auto j = parse(r);
    return j["error"].value("image", std::string("(none)"));
  };
  EXPECT_EQ(image_of(post_json(*c, "/verify", verify_body("noface_grass.jpg", "obama_1.jpg"))), "img1");
  auto many = verify_body("obama_1.jpg", "multi_four_people.jpg");
  many["face_policy"] = "error";
  EXPECT_EQ(image_of(post_json(*c, "/verify", many)), "img2");
  EXPECT_EQ(
      image_of(post_json(*c, "/verify", {{"img1", base64(photo("obama_1.jpg"))}, {"img2", "not base64!"}})),
      "img2");
  EXPECT_EQ(image_of(post_json(*c, "/verify", verify_body("obama_1.jpg", "corrupt_broken.jpg"))), "img2");
  httplib::MultipartFormDataItems empty = {{"img1", photo("obama_1.jpg"), "a.jpg", "image/jpeg"},
                                           {"img2", "", "b.jpg", "image/jpeg"}};
  EXPECT_EQ(image_of(c->Post("/verify", empty)), "img2");
  EXPECT_EQ(image_of(post_json(*c, "/detect", {{"img", base64(photo("corrupt_broken.jpg"))}})), "img");
  EXPECT_EQ(image_of(post_json(*c, "/embed", {{"img", base64(photo("noface_grass.jpg"))}})), "img");
  // An error about the request as a whole names no image.
  EXPECT_EQ(image_of(c->Post("/verify", "{not json", "application/json")), "(none)");
}

// /embed answers each image on its own (issue 14 item 16): one photo without a face or one that is not
// an image failed the whole request. 200 when any image gave faces; when none did, the status one such
// image gets alone, with every image's error.
TEST(Server, EmbedAnswersEachImageOnItsOwn) {
  auto c = main_server().client();
  auto r = post_json(*c, "/embed",
                     {{"images",
                       {base64(photo("obama_1.jpg")), base64(photo("noface_grass.jpg")), "not base64!",
                        base64(photo("corrupt_broken.jpg")), base64(photo("obama_2.jpg"))}}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  ASSERT_EQ(j["images"].size(), 5u) << r->body;
  EXPECT_FALSE(j.contains("error"));
  for (const std::size_t i : {0u, 4u}) {
    EXPECT_FALSE(j["images"][i].contains("error")) << i;
    EXPECT_EQ(j["images"][i]["faces"][0]["descriptor"].size(), 128u) << i;
  }
  const std::vector<std::pair<std::size_t, std::string>> failures = {
      {1, "no_face"}, {2, "bad_image"}, {3, "bad_image"}};
  for (const auto& [i, code] : failures) {
    const auto& failed = j["images"][i];
    EXPECT_EQ(keys_of(failed), Keys{"error"}) << failed;
    EXPECT_EQ(failed["error"]["code"], code) << failed;
    EXPECT_EQ(failed["error"]["image"], "images[" + std::to_string(i) + "]") << failed;
    EXPECT_NE(failed["error"]["message"].get<std::string>().find("images[" + std::to_string(i) + "]"),
              std::string::npos)
        << failed;
  }

  // Every image failed: the first failure's status and error, and each image's beside it.
  r = post_json(*c, "/embed", {{"images", {base64(photo("noface_grass.jpg")), "not base64!"}}});
  expect_error(r, 422, "no_face");
  j = json::parse(r->body);
  EXPECT_EQ(j["error"]["image"], "images[0]");
  ASSERT_EQ(j["images"].size(), 2u);
  EXPECT_EQ(j["images"][1]["error"]["code"], "bad_image");
  expect_error(post_json(*c, "/embed", {{"images", {"not base64!", base64(photo("noface_grass.jpg"))}}}), 400,
               "bad_image");

  // The same in a form: an empty part is that image's error.
  httplib::MultipartFormDataItems items = {{"images", "", "a.jpg", "image/jpeg"},
                                           {"images", photo("obama_2.jpg"), "b.jpg", "image/jpeg"}};
  r = c->Post("/embed", items);
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  EXPECT_EQ(j["images"][0]["error"]["code"], "bad_image");
  EXPECT_EQ(j["images"][0]["error"]["image"], "images[0]");
  EXPECT_EQ(j["images"][1]["faces"].size(), 1u);
}

// web/openapi.json, served at /openapi.json, describes every route of the route table and no other (issue
// 14 item 17), so a route added without its description fails here; tests/openapi checks every route's
// answers against it.
TEST(Server, OpenApiDescribesEveryRoute) {
  auto c = main_server().client();
  const auto served = c->Get("/openapi.json");
  ASSERT_TRUE(served);
  ASSERT_EQ(served->status, 200);
  EXPECT_EQ(served->get_header_value("Content-Type"), "application/json");
  const auto doc = json::parse(served->body);
  EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.1.", 0), 0u);

  facematch::server::ServerConfig config;
  config.gallery = "";  // the gallery's routes are in the table all the same
  const facematch::server::Service service(facematch::Models::load(facematch::testing::models_dir()), config);
  std::set<std::string> routes, documented;
  for (const auto& r : service.routes()) {
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    routes.insert(method + " " + r.path);
  }
  for (const auto& [path, item] : doc["paths"].items())
    for (const auto& [method, operation] : item.items()) documented.insert(method + " " + path);
  EXPECT_GE(routes.size(), 16u);
  for (const auto& r : routes) EXPECT_TRUE(documented.count(r)) << r << " is not in web/openapi.json";
  for (const auto& d : documented) EXPECT_TRUE(routes.count(d)) << d << " is documented but not a route";
}

TEST(Server, ClientErrorsHaveTheJsonShape) {
  auto c = main_server().client();
  expect_error(c->Post("/verify", "{not json", "application/json"), 400, "bad_request");
  expect_error(post_json(*c, "/verify", {{"img1", base64(photo("obama_1.jpg"))}}), 400, "bad_request");
  auto bad_option = verify_body("obama_1.jpg", "obama_2.jpg");
  bad_option["detector"] = "yolo";
  expect_error(post_json(*c, "/verify", bad_option), 400, "bad_request");
  bad_option = verify_body("obama_1.jpg", "obama_2.jpg");
  bad_option["threshold"] = -1;
  expect_error(post_json(*c, "/verify", bad_option), 400, "bad_request");
  expect_error(post_json(*c, "/verify", {{"img1", "/etc/passwd"}, {"img2", "http://example.com/a.jpg"}}), 400,
               "bad_image");
  expect_error(post_json(*c, "/verify", verify_body("corrupt_broken.jpg", "obama_1.jpg")), 400, "bad_image");
  expect_error(c->Post("/verify", "img1=a", "text/plain"), 415, "unsupported_media_type");
  expect_error(c->Get("/no/such/route"), 404, "not_found");
  expect_error(c->Post("/nothing", "{}", "application/json"), 404, "not_found");

  auto r = post_json(*c, "/verify", verify_body("noface_grass.jpg", "obama_1.jpg"));
  expect_error(r, 422, "no_face");
  EXPECT_EQ(json::parse(r->body)["error"]["message"], "img1: no face found in the image");
  auto many = verify_body("obama_1.jpg", "multi_four_people.jpg");
  many["face_policy"] = "error";
  r = post_json(*c, "/verify", many);
  expect_error(r, 422, "too_many_faces");
  EXPECT_EQ(json::parse(r->body)["error"]["message"].get<std::string>().rfind("img2: ", 0), 0u);
}

TEST(Server, OriginalApiErrorsKeepCors) {
  auto c = main_server().client();
  auto good = legacy_image(shared_face("obama_1.jpg"), true);
  auto ragged = good;
  ragged[0][5].erase(3);
  auto r = post_json(*c, "/", {{"truth", good}, {"check", ragged}});
  expect_error(r, 400, "bad_request");
  expect_cors(r);
  auto out_of_range = good;
  out_of_range[0][1][2][0] = 256.5;
  r = post_json(*c, "/", {{"truth", out_of_range}, {"check", good}});
  expect_error(r, 400, "bad_request");
  expect_cors(r);
  r = post_json(*c, "/", {{"truth", good}});
  expect_error(r, 400, "bad_request");
  expect_cors(r);
  r = c->Post("/", "truth", "image/png");
  expect_error(r, 415, "unsupported_media_type");
  expect_cors(r);
}

// Tight limits and one worker behind a queue of one: limits, then overload and recovery.
TEST(Server, LimitsOverloadAndRecovery) {
  ServerProcess server({"--workers", "1", "--queue", "1", "--max-body-mb", "12", "--max-megapixels", "5"});
  server.wait_ready();
  auto c = server.client();
  // 413 for the body, before any parsing.
  expect_error(c->Post("/verify", std::string(13 * 1024 * 1024, 'x'), "application/json"), 413,
               "body_too_large");
  auto big = c->Post("/", std::string(13 * 1024 * 1024, ' '), "application/json");
  expect_error(big, 413, "body_too_large");
  expect_cors(big);
  // 413 for pixels: a 3000x2000 PNG is small in bytes but over 5 megapixels.
  std::vector<std::uint8_t> png;
  cv::imencode(".png", cv::Mat(2000, 3000, CV_8UC3, cv::Scalar(90, 120, 200)), png);
  expect_error(post_json(*c, "/verify",
                         {{"img1", base64(std::string(png.begin(), png.end()))},
                          {"img2", base64(photo("obama_1.jpg"))}}),
               413, "image_too_large");

  // Six slow requests at once (each decodes two multi-megapixel photos) against room for two.
  const auto slow = verify_body("shea_whigham.jpg", "multi_group_smile.jpg").dump();
  std::vector<std::future<int>> answers;
  for (int i = 0; i < 6; ++i)
    answers.push_back(std::async(std::launch::async, [&] {
      auto own = server.client();
      auto r = own->Post("/verify", slow, "application/json");
      if (!r) return -1;
      if (r->status == 429) {
        const auto j = json::parse(r->body);
        if (j["error"]["code"] != "overloaded") return -2;
      }
      return r->status;
    }));
  int ok = 0, refused = 0;
  for (auto& a : answers) {
    const int status = a.get();
    ok += status == 200;
    refused += status == 429;
    EXPECT_TRUE(status == 200 || status == 429) << status;
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(refused, 1);
  // Recovered: the queue is empty again and a request goes through.
  auto r = post_json(*c, "/verify", verify_body("obama_1.jpg", "obama_2.jpg"));
  ASSERT_EQ(r->status, 200) << r->body;
  const auto metrics = c->Get("/metrics")->body;
  EXPECT_NE(metrics.find("status=\"429\"}"), std::string::npos);
  EXPECT_NE(metrics.find("facematch_queue_depth 0"), std::string::npos);
  EXPECT_NE(metrics.find("facematch_in_flight_requests 0"), std::string::npos);
}

TEST(Server, ApiKeysFromFileAndEnvironment) {
  const auto keys = std::filesystem::temp_directory_path() / ("facematch_keys_" + std::to_string(::getpid()));
  {
    std::ofstream out(keys);
    out << "# comment\n  key-from-file  \n\n";
  }
  ServerProcess server({"--api-keys", keys.string()}, {"FACEMATCH_API_KEYS=env-key-1, env-key-2"});
  server.wait_ready();
  std::filesystem::remove(keys);
  auto c = server.client();
  const auto body = verify_body("obama_1.jpg", "obama_2.jpg");
  auto r = post_json(*c, "/verify", body);
  expect_error(r, 401, "unauthorized");
  expect_error(c->Get("/metrics"), 401, "unauthorized");
  c->set_default_headers({{"x-api-key", "key-from-fil"}});
  expect_error(post_json(*c, "/verify", body), 401, "unauthorized");
  EXPECT_EQ(c->Get("/healthz")->status, 200);  // health checks stay open
  EXPECT_EQ(c->Get("/readyz")->status, 200);
  EXPECT_EQ(c->Options("/")->status, 204);
  c->set_default_headers({{"x-api-key", "key-from-file"}});
  EXPECT_EQ(post_json(*c, "/verify", body)->status, 200);
  EXPECT_EQ(c->Get("/metrics")->status, 200);
  c->set_default_headers({{"Authorization", "Bearer env-key-2"}});
  EXPECT_EQ(post_json(*c, "/verify", body)->status, 200);
  const json legacy = {{"truth", legacy_image(shared_face("obama_1.jpg"), false)},
                       {"check", legacy_image(shared_face("obama_2.jpg"), false)}};
  c->set_default_headers({});
  r = post_json(*c, "/", legacy);
  expect_error(r, 401, "unauthorized");
  expect_cors(r);
}

TEST(Server, OperatingPointSetsTheThresholdAndAnswersNameIt) {
  const auto& points = facematch::builtin_operating_points();
  const auto& far1e2 = points.get("far1e-2");
  ServerProcess server({"--workers", "1", "--operating-point", "far1e-2"});
  server.wait_ready();
  auto c = server.client();
  auto j = parse(post_json(*c, "/verify", verify_body("obama_1.jpg", "obama_2.jpg")));
  EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), far1e2.threshold);
  EXPECT_EQ(j["operating_point"]["name"], "far1e-2");
  EXPECT_EQ(j["operating_point"]["source"], "built-in");
  EXPECT_DOUBLE_EQ(j["operating_point"]["target_far"].get<double>(), 1e-2);
  EXPECT_EQ(j["match"], "Yes");
  // A request's own threshold replaces the point, and the answer no longer names it.
  auto body = verify_body("obama_1.jpg", "obama_2.jpg");
  body["threshold"] = 0.3;
  j = parse(post_json(*c, "/verify", body));
  EXPECT_EQ(j["threshold"], 0.3);
  EXPECT_FALSE(j.contains("operating_point"));
  EXPECT_EQ(j["match"], "No");
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();

  // A point and a threshold together, or an unknown point, stop the server before it listens.
  const std::string serve = std::string(FACEMATCH_CLI) + " serve --port 0 --models " +
                            facematch::testing::models_dir().string() + " --log-level off";
  EXPECT_NE(std::system((serve + " --operating-point far1e-3 --threshold 0.5 >/dev/null 2>&1").c_str()), 0);
  EXPECT_NE(std::system((serve + " --operating-point far7e-7 >/dev/null 2>&1").c_str()), 0);
  EXPECT_NE(std::system((serve + " --operating-point far1e-3 --align faceapi >/dev/null 2>&1").c_str()), 0);
}

TEST(Server, SigtermFinishesInFlightRequestsAndExitsZero) {
  ServerProcess server({"--workers", "1", "--keep-alive-timeout", "1"});
  server.wait_ready();
  // A second keep-alive connection is open before the signal: its next request must be refused
  // with 503 (or the connection closed), never left hanging.
  auto idle = server.client();
  idle->set_keep_alive(true);
  ASSERT_EQ(idle->Get("/healthz")->status, 200);
  const auto slow = verify_body("shea_whigham.jpg", "multi_group_smile.jpg").dump();
  auto in_flight = std::async(std::launch::async, [&] {
    auto c = server.client();
    auto r = c->Post("/verify", slow, "application/json");
    return r ? r->status : -1;
  });
  // Wait until the request holds the worker, then ask the server to stop.
  auto probe = server.client();
  for (int i = 0; i < 500; ++i) {
    auto m = probe->Get("/metrics");
    if (m && m->body.find("facematch_workers_busy 1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  probe.reset();
  ::kill(server.pid(), SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto late = post_json(*idle, "/verify", verify_body("obama_1.jpg", "obama_2.jpg"));
  if (late) expect_error(late, 503, "overloaded");
  std::printf("request on an open connection after SIGTERM: %s\n",
              late ? std::to_string(late->status).c_str() : httplib::to_string(late.error()).c_str());
  EXPECT_EQ(in_flight.get(), 200);
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

TEST(Server, DrainDelayKeepsServingWhileReadyzAnswers503) {
  ServerProcess server({"--workers", "1", "--drain-delay", "2"});
  server.wait_ready();
  auto c = server.client();
  const auto signalled = std::chrono::steady_clock::now();
  ::kill(server.pid(), SIGTERM);
  // The balancer's view turns at once; requests are still answered, each closing its connection.
  bool withdrawn = false;
  for (int i = 0; i < 100 && !withdrawn; ++i) {
    auto r = c->Get("/readyz");
    withdrawn = r && r->status == 503;
    if (!withdrawn) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(withdrawn) << server.log();
  auto r = post_json(*c, "/verify", verify_body("obama_1.jpg", "obama_2.jpg"));
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Connection"), "close");
  EXPECT_TRUE(server.running()) << "still serving during the delay";
  EXPECT_EQ(server.stop(0, std::chrono::seconds(30)), 0) << server.log();  // signal 0: only waits
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(2)) << "left before the delay";

  // A second signal ends the wait.
  ServerProcess patient({"--workers", "1", "--drain-delay", "600"});
  patient.wait_ready();
  ::kill(patient.pid(), SIGTERM);
  auto pc = patient.client();
  for (int i = 0; i < 100; ++i) {
    if (auto rr = pc->Get("/readyz"); rr && rr->status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(patient.stop(SIGTERM, std::chrono::seconds(30)), 0) << patient.log();
}

// A raw request, as curl or a bare client sends it; returns the status line and headers (up to 30 s).
std::string raw_request(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "connect failed";
  }
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buffer[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) break;
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
    if (answer.find("\r\n\r\n") != std::string::npos) break;
  }
  ::close(fd);
  return answer;
}

// GET or DELETE on /verify were 404, PUT 400 "malformed"; a known path with another method is 405 and
// names the allowed ones. A POST without Content-Length waited for the read timeout and got 400.
TEST(Server, OtherMethodsAre405WithAllowAndABodyNeedsALength) {
  auto c = main_server().client();
  std::vector<httplib::Result> answers;
  answers.push_back(c->Get("/verify"));
  answers.push_back(c->Delete("/verify"));
  answers.push_back(c->Put("/verify", "{}", "application/json"));
  answers.push_back(c->Get("/embed"));
  for (const auto& r : answers) {
    expect_error(r, 405, "method_not_allowed");
    EXPECT_EQ(r->get_header_value("Allow"), "POST, OPTIONS") << r->body;
    expect_cors(r);
  }
  auto r = c->Post("/healthz", "{}", "application/json");
  expect_error(r, 405, "method_not_allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "GET, OPTIONS");
  expect_error(c->Get("/no/such/route"), 404, "not_found");  // unknown paths stay 404
  EXPECT_EQ(c->Get("/healthz")->status, 200);                // and the connection still serves
  r = c->Delete("/index.html");                              // the page's files are GET only
  expect_error(r, 405, "method_not_allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "GET, OPTIONS");
  EXPECT_EQ(c->Get("/")->status, 200);  // the page, while POST / is the original API

  const std::string no_length =
      "POST /verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\r\n";
  EXPECT_EQ(raw_request(main_server().port(), no_length).rfind("HTTP/1.1 411", 0), 0u);
  const std::string put = "PUT /verify HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  EXPECT_EQ(raw_request(main_server().port(), put).rfind("HTTP/1.1 405", 0), 0u);
}

// curl -d sends application/x-www-form-urlencoded: 415 at any size (httplib's 8 KB form buffer made large
// ones 413), answered without reading the body.
TEST(Server, FormEncodedBodiesAre415AtAnySize) {
  std::signal(SIGPIPE, SIG_IGN);  // should the server close before the whole body is sent
  auto c = main_server().client();
  for (const std::size_t size : {std::size_t{100}, std::size_t{619 * 1024}, std::size_t{5} * 1024 * 1024}) {
    SCOPED_TRACE(size);
    const std::string body(size, 'a');
    expect_error(c->Post("/verify", body, "application/x-www-form-urlencoded"), 415,
                 "unsupported_media_type");
    auto r = c->Post("/", body, "application/x-www-form-urlencoded");
    expect_error(r, 415, "unsupported_media_type");
    EXPECT_EQ(json::parse(r->body)["Match"], "No");
  }
  EXPECT_EQ(post_json(*c, "/verify", verify_body("obama_1.jpg", "obama_2.jpg"))->status, 200);
}

TEST(Server, UnknownFieldsAre400AndDeepfaceRequestsWork) {
  auto c = main_server().client();
  auto body = verify_body("obama_1.jpg", "obama_2.jpg");
  body["treshold"] = 0.3;
  auto r = post_json(*c, "/verify", body);
  expect_error(r, 400, "bad_request");
  EXPECT_NE(json::parse(r->body)["error"]["message"].get<std::string>().find("'treshold'"),
            std::string::npos);
  httplib::MultipartFormDataItems items = {{"img", photo("obama_1.jpg"), "o.jpg", "image/jpeg"},
                                           {"detectr", "ssd", "", ""}};
  expect_error(c->Post("/detect", items), 400, "bad_request");
  // A deepface client's request, unchanged.
  body = verify_body("obama_1.jpg", "obama_2.jpg");
  body.update({{"model_name", "Dlib"},
               {"detector_backend", "ssd"},
               {"distance_metric", "euclidean"},
               {"enforce_detection", true},
               {"align", true}});
  r = post_json(*c, "/verify", body);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["detector"], "ssd");
  EXPECT_EQ(json::parse(r->body)["verified"], true);
  body["distance_metric"] = "cosine";
  expect_error(post_json(*c, "/verify", body), 400, "bad_request");
}

TEST(Server, PortInUseAndOutOfRangeAreRefused) {
  const std::string serve = std::string("timeout 60 ") + FACEMATCH_CLI + " serve --bind 127.0.0.1 --models " +
                            facematch::testing::models_dir().string() + " --log-level warn --port ";
  FILE* pipe = ::popen((serve + std::to_string(main_server().port()) + " 2>&1").c_str(), "r");
  std::string out;
  char buffer[512];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << out;
  EXPECT_NE(out.find("address in use"), std::string::npos) << out;
  EXPECT_EQ(out.find("listening"), std::string::npos) << out;
  EXPECT_EQ(main_server().client()->Get("/healthz")->status, 200);
  EXPECT_NE(std::system((serve + "99999 >/dev/null 2>&1").c_str()), 0);
  EXPECT_NE(std::system((serve + "-1 >/dev/null 2>&1").c_str()), 0);
}

// The request log gave "0 B" for every multipart body (httplib leaves req.body empty for them).
TEST(Server, RequestLogShowsTheSizeOfMultipartBodies) {
  ServerProcess server({"--workers", "1", "--log-level", "info"});
  server.wait_ready();
  const auto a = photo("obama_1.jpg"), b = photo("obama_2.jpg");
  httplib::MultipartFormDataItems items = {{"img1", a, "a.jpg", "image/jpeg"},
                                           {"img2", b, "b.jpg", "image/jpeg"}};
  ASSERT_EQ(server.client()->Post("/verify", items)->status, 200);
  const auto log = server.log();
  const auto line = log.find("POST /verify 200 ");
  ASSERT_NE(line, std::string::npos) << log;
  const auto end = log.find(" B", line);
  const auto start = log.rfind(' ', end - 1) + 1;
  const auto bytes = std::stoull(log.substr(start, end - start));
  EXPECT_GT(bytes, a.size() + b.size()) << log.substr(line, end - line + 2);
  EXPECT_LT(bytes, a.size() + b.size() + 2048) << log.substr(line, end - line + 2);
}

}  // namespace
