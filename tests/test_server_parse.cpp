// The request parsers alone: shapes, limits and the time to read the original API's nested arrays.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "facematch/compare.hpp"
#include "server/http_error.hpp"
#include "server/request_parse.hpp"
#include "server/server.hpp"
#include "test_server_harness.hpp"

namespace {

using namespace facematch::server;
using facematch::testing::base64;
using facematch::testing::legacy_image;
using facematch::testing::shared_face;
using nlohmann::json;

template <typename F>
HttpError error_of(F&& f) {
  try {
    f();
  } catch (const HttpError& e) {
    return e;
  }
  ADD_FAILURE() << "no HttpError thrown";
  return {0, "", ""};
}

json gradient(int width, int height) {
  json rows = json::array();
  for (int y = 0; y < height; ++y) {
    json row = json::array();
    for (int x = 0; x < width; ++x) row.push_back({x % 256, y % 256, 7});
    rows.push_back(std::move(row));
  }
  return rows;
}

TEST(ServerParse, Base64WithPrefixWhitespaceAndUrlAlphabet) {
  const std::string bytes = "\xff\xd8\xff\xe0 any bytes\x01\x02";
  const auto encoded = base64(bytes);
  const Bytes expected(bytes.begin(), bytes.end());
  EXPECT_EQ(decode_base64_image(encoded, "img"), expected);
  EXPECT_EQ(decode_base64_image("data:image/jpeg;base64," + encoded, "img"), expected);
  std::string wrapped = encoded.substr(0, 8) + "\r\n" + encoded.substr(8);
  EXPECT_EQ(decode_base64_image(wrapped, "img"), expected);
  std::string unpadded = encoded;
  unpadded.erase(std::remove(unpadded.begin(), unpadded.end(), '='), unpadded.end());
  EXPECT_EQ(decode_base64_image(unpadded, "img"), expected);
  std::string url = encoded;
  std::replace(url.begin(), url.end(), '+', '-');
  std::replace(url.begin(), url.end(), '/', '_');
  EXPECT_EQ(decode_base64_image(url, "img"), expected);

  EXPECT_EQ(error_of([] { decode_base64_image("http://example.com/a.jpg", "img1"); }).code(), "bad_image");
  EXPECT_EQ(error_of([] { decode_base64_image("", "img1"); }).code(), "bad_image");
  EXPECT_EQ(error_of([] { decode_base64_image("QQ=A", "img1"); }).code(), "bad_image");
  EXPECT_EQ(error_of([] { decode_base64_image("data:image/png,abc", "img1"); }).code(), "bad_image");
  EXPECT_EQ(error_of([] { decode_base64_image("A", "img1"); }).code(), "bad_image");
}

TEST(ServerParse, VerifyJson) {
  const auto r = parse_verify_json(
      R"({"img1": "QUJD", "img2": "data:image/png;base64,REVG", "threshold": 0.5, "detector": "tiny"})",
      1000);
  EXPECT_EQ(r.img1, (Bytes{'A', 'B', 'C'}));
  EXPECT_EQ(r.img2, (Bytes{'D', 'E', 'F'}));
  EXPECT_EQ(r.options.threshold, 0.5);
  EXPECT_EQ(r.options.settings["detector"], "tiny");
  EXPECT_FALSE(r.options.settings.contains("align"));
  EXPECT_EQ(error_of([] { parse_verify_json("[1,2]", 1000); }).code(), "bad_request");
  EXPECT_EQ(error_of([] { parse_verify_json(R"({"img1": "QUJD"})", 1000); }).code(), "bad_request");
  EXPECT_EQ(error_of([] { parse_verify_json(R"({"img1": 5, "img2": "QUJD"})", 1000); }).code(),
            "bad_request");
  EXPECT_EQ(error_of([] {
              parse_verify_json(R"({"img1": "QUJD", "img2": "QUJD", "threshold": "x"})", 1000);
            }).code(),
            "bad_request");
  EXPECT_EQ(error_of([] { parse_verify_json(R"({"img1": "QUJDQUJDQUJD", "img2": "QUJD"})", 3); }).status(),
            413);
  EXPECT_EQ(error_of([] { parse_verify_json(std::string(5000, '['), 1000); }).code(), "bad_request");
}

TEST(ServerParse, OptionsAreValidated) {
  RequestOptions o;
  o.settings["align"] = "sideways";
  EXPECT_EQ(error_of([&] { o.apply({}); }).code(), "bad_request");
  o = {};
  o.threshold = 0;
  EXPECT_EQ(error_of([&] { o.threshold_or(0.6); }).code(), "bad_request");
  EXPECT_EQ(parse_option_fields(std::string("0.4"), {}, {}, {}).threshold, 0.4);
  EXPECT_EQ(error_of([] { parse_option_fields(std::string("0.4x"), {}, {}, {}); }).code(), "bad_request");
}

TEST(ServerParse, LegacyShapesGiveRgb) {
  const auto rows = gradient(20, 18);
  for (const json& image : {rows, json::array({rows})}) {
    const auto r = parse_legacy_request(json{{"truth", image}, {"check", image}}.dump(), 1000);
    ASSERT_EQ(r.truth.cols, 20);
    ASSERT_EQ(r.truth.rows, 18);
    ASSERT_EQ(r.truth.type(), CV_8UC3);
    // BGR in, RGB out.
    EXPECT_EQ(r.truth.at<cv::Vec3b>(17, 19), cv::Vec3b(7, 17, 19));
  }
  // Floats (numpy's tolist) are rounded.
  auto floats = rows;
  floats[0][0] = {0.4, 254.6, 100.5};
  const auto r = parse_legacy_request(json{{"truth", floats}, {"check", rows}}.dump(), 1000);
  EXPECT_EQ(r.truth.at<cv::Vec3b>(0, 0), cv::Vec3b(101, 255, 0));
}

TEST(ServerParse, LegacyRejectsBadArrays) {
  const auto rows = gradient(20, 18);
  const auto check = [&](const json& truth, int status, const std::string& code) {
    const auto e = error_of([&] {
      parse_legacy_request(json{{"truth", truth}, {"check", rows}}.dump(), 1000);
    });
    EXPECT_EQ(e.status(), status) << truth.dump().substr(0, 80);
    EXPECT_EQ(e.code(), code) << e.what();
  };
  auto ragged = rows;
  ragged[3].erase(0);
  check(ragged, 400, "bad_request");
  auto two_values = rows;
  two_values[2][2] = {1, 2};
  check(two_values, 400, "bad_request");
  auto negative = rows;
  negative[1][1][1] = -1;
  check(negative, 400, "bad_request");
  auto text = rows;
  text[1][1][1] = "12";
  check(text, 400, "bad_request");
  check(json::array({rows, rows}), 400, "bad_request");  // a batch of two
  check(json::array(), 400, "bad_image");
  check(gradient(8, 8), 400, "bad_image");          // under the 16-pixel side
  check(gradient(40, 30), 413, "image_too_large");  // 1200 pixels > 1000
  check(json(5), 400, "bad_request");
  EXPECT_EQ(error_of([] { parse_legacy_request(R"({"truth": [[[1e999, 0, 0]]]})", 1000); }).code(),
            "bad_request");
  EXPECT_EQ(error_of([] { parse_legacy_request(R"({"truth": [[[NaN, 0, 0]]]})", 1000); }).code(),
            "bad_request");
}

TEST(ServerParse, SimilarityIsHalfAtTheThreshold) {
  EXPECT_DOUBLE_EQ(facematch::similarity_from_distance(0.6, 0.6), 0.5);
  EXPECT_DOUBLE_EQ(facematch::similarity_from_distance(0, 0.6), 1.0);
  EXPECT_GT(facematch::similarity_from_distance(0.3, 0.6), facematch::similarity_from_distance(0.4, 0.6));
  EXPECT_LT(facematch::similarity_from_distance(1.2, 0.6), 0.1);
}

// A full-size original request (2 x [1][224][224][3] floats, ~1.7 MB of JSON) gives back exactly the
// photos' pixels, as RGB. Its parse time is a benchmark (bench/run.sh prints it), not a test.
TEST(ServerParse, OriginalRequestOfTwoPhotosGivesTheirPixels) {
  const json body = {{"truth", legacy_image(shared_face("obama_1.jpg"), true)},
                     {"check", legacy_image(shared_face("obama_2.jpg"), true)}};
  const auto text = body.dump();
  EXPECT_GT(text.size(), 1'000'000u);
  const auto request = parse_legacy_request(text, 40'000'000);
  for (const auto& [name, parsed] :
       {std::pair{"obama_1.jpg", request.truth}, std::pair{"obama_2.jpg", request.check}}) {
    SCOPED_TRACE(name);
    cv::Mat expected = cv::imread(shared_face(name).string(), cv::IMREAD_COLOR);
    cv::resize(expected, expected, cv::Size(224, 224));
    cv::cvtColor(expected, expected, cv::COLOR_BGR2RGB);
    ASSERT_EQ(parsed.size(), expected.size());
    ASSERT_EQ(parsed.type(), expected.type());
    EXPECT_EQ(cv::norm(parsed, expected, cv::NORM_INF), 0);
  }
}

}  // namespace

// The key file's format: one key per line; '#' at the start or after whitespace begins a comment. A
// trailing comment made the whole line the key.
TEST(ServerParse, ApiKeyFileCommentsAndKeys) {
  const auto path = std::filesystem::temp_directory_path() / ("facematch_keys_" + std::to_string(::getpid()));
  std::ofstream(path) << "# keys for the staging clients\n  key-1  \nsecret-key-2 # trailing comment\n"
                         "\tkey-3\t#tab before the comment\nab#cd\n\n   # indented comment\n";
  EXPECT_EQ(read_api_keys(path.string()),
            (std::vector<std::string>{"key-1", "secret-key-2", "key-3", "ab#cd"}));
  // Two words on a line are a mistake (a comment without '#'), never one key with a space.
  std::ofstream(path) << "key-1\nsecret-key-2 trailing words\n";
  try {
    read_api_keys(path.string());
    ADD_FAILURE() << "no error";
  } catch (const facematch::Error& e) {
    EXPECT_EQ(e.code(), facematch::ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "# only a comment\n";
  EXPECT_THROW(read_api_keys(path.string()), facematch::Error);
  std::filesystem::remove(path);
}

// Unknown fields are refused by name (a misspelt option was ignored silently); deepface's names are taken
// where they mean ours and refused with the reason where they do not.
TEST(ServerParse, UnknownFieldsAndDeepfaceNames) {
  const std::string images = R"("img1": "QUJD", "img2": "QUJD")";
  const auto verify = [&](const std::string& extra) {
    return parse_verify_json("{" + images + ", " + extra + "}", 1000);
  };
  auto e = error_of([&] { verify(R"("treshold": 0.3)"); });
  EXPECT_EQ(e.status(), 400);
  EXPECT_NE(std::string(e.what()).find("unknown field 'treshold'"), std::string::npos) << e.what();
  EXPECT_NE(std::string(error_of([&] {
                          parse_images_json(R"({"img": "QUJD", "images": ["QUJD"]})", false, 1, 1000);
                        }).what())
                .find("'images'"),
            std::string::npos);
  auto r = verify(R"("detector_backend": "ssd", "model_name": "Dlib", "distance_metric": "euclidean",
                      "enforce_detection": true, "align": true, "threshold": 0.5)");
  EXPECT_EQ(r.options.settings["detector"], "ssd");
  EXPECT_FALSE(r.options.settings.contains("align"));
  EXPECT_EQ(r.options.threshold, 0.5);
  EXPECT_EQ(verify(R"("model_name": "face-api-1.7.15/face_recognition_model", "align": "faceapi")")
                .options.settings["align"],
            "faceapi");
  for (const char* refused :
       {R"("model_name": "VGG-Face")", R"("distance_metric": "cosine")",
        R"("distance_metric": "euclidean_l2")", R"("enforce_detection": false)", R"("align": false)",
        R"("detector": "tiny", "detector_backend": "ssd")", R"("enforce_detection": "yes")"}) {
    e = error_of([&] { verify(refused); });
    EXPECT_EQ(e.code(), "bad_request") << refused;
  }
  // A threshold must lie where distances do (docs/interfaces.md).
  for (const double t : {5.0, 2.0, 0.0, -1.0}) {
    RequestOptions o;
    o.threshold = t;
    EXPECT_EQ(error_of([&] { o.threshold_or(0.6); }).code(), "bad_request") << t;
  }
  RequestOptions fine;
  fine.threshold = 1.5;
  EXPECT_EQ(fine.threshold_or(0.6), 1.5);
  // The same names and checks for form fields.
  EXPECT_EQ(parse_form_options({{"detector_backend", "tiny"}, {"align", "true"}}).settings["detector"],
            "tiny");
  EXPECT_EQ(parse_form_options({{"min_quality", "true"}}).settings["min_quality"], true);
  e = error_of([] { parse_form_options({{"treshold", "0.3"}}); });
  EXPECT_NE(std::string(e.what()).find("'treshold'"), std::string::npos) << e.what();
  EXPECT_EQ(error_of([] { parse_form_options({{"enforce_detection", "false"}}); }).code(), "bad_request");
}
