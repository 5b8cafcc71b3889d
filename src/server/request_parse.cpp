#include "server/request_parse.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "facematch/compare.hpp"
#include "facematch/embed.hpp"
#include "facematch/pipeline.hpp"
#include "server/http_error.hpp"

namespace facematch::server {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

simdjson::dom::element parse_json(simdjson::dom::parser& parser, std::string_view body) {
  element doc;
  // The parser needs SIMDJSON_PADDING readable bytes past the end; padded_string copies the body once.
  const simdjson::padded_string padded(body);
  if (const auto error = parser.parse(padded).get(doc); error)
    throw bad_request(std::string("the body is not valid JSON: ") + simdjson::error_message(error));
  if (!doc.is_object()) throw bad_request("the body must be a JSON object");
  // The document lives in the parser's own buffers, so `padded` may go away now.
  return doc;
}

std::optional<element> field(const element& object, std::string_view key) {
  element value;
  if (object.get_object()[key].get(value) != simdjson::SUCCESS) return std::nullopt;
  if (value.is_null()) return std::nullopt;
  return value;
}

std::string_view string_field(const element& value, std::string_view key) {
  std::string_view s;
  if (value.get_string().get(s) != simdjson::SUCCESS)
    throw bad_request("'" + std::string(key) + "' must be a string");
  return s;
}

Bytes image_field(const element& object, std::string_view key, std::size_t max_bytes) {
  const auto value = field(object, key);
  if (!value) throw bad_request("missing field '" + std::string(key) + "' (a base64-encoded image)");
  const auto text = string_field(*value, key);
  // Base64 inflates by 4/3: refuse before decoding anything that cannot fit.
  if (text.size() / 4 * 3 > max_bytes + 3)
    throw HttpError(
        413, "image_too_large",
        std::string(key) + ": the image is over the limit of " + std::to_string(max_bytes) + " bytes",
        std::string(key));
  return decode_base64_image(text, key);
}

// One option field as JSON gives it (`json`) or as a form's text (`form`); exactly one is set.
struct FieldValue {
  std::string_view name;
  const element* json = nullptr;
  const std::string* form = nullptr;

  std::string text() const {
    if (form) return *form;
    return std::string(string_field(*json, name));
  }
  bool boolean() const {
    bool value = false;
    if (form ? (*form != "true" && *form != "false") : json->get_bool().get(value) != simdjson::SUCCESS)
      throw bad_request("'" + std::string(name) + "' must be true or false");
    return form ? *form == "true" : value;
  }
  bool is_boolean() const { return form ? (*form == "true" || *form == "false") : json->is_bool(); }
  // A JSON value as nlohmann's (numbers as doubles), for the pipeline settings' checks.
  nlohmann::json as_json() const {
    double number = 0;
    bool flag = false;
    std::string_view text;
    if (json->get_bool().get(flag) == simdjson::SUCCESS) return flag;
    if (json->get_double().get(number) == simdjson::SUCCESS) return number;
    if (json->get_string().get(text) == simdjson::SUCCESS) return std::string(text);
    return nlohmann::json::parse(simdjson::minify(*json));
  }
  double number() const {
    double value = 0;
    if (json) {
      if (json->get_double().get(value) != simdjson::SUCCESS)
        throw bad_request("'" + std::string(name) + "' must be a number");
      return value;
    }
    std::size_t used = 0;
    try {
      value = std::stod(*form, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != form->size()) throw bad_request("'" + std::string(name) + "' must be a number");
    return value;
  }
};

// The request fields: threshold, the per-request pipeline settings, and deepface's names.
std::string option_names() {
  std::string names = "threshold";
  for (const auto& setting : pipeline_settings())
    if (setting.per_request) names += ", " + std::string(setting.name);
  return names +
         "; deepface's detector_backend, model_name, distance_metric, enforce_detection and align (true)";
}

// Checked now, by the rule the CLI's flag follows, so that a bad value is a 400 before any work.
void set_setting(RequestOptions& o, const PipelineSetting& setting, const FieldValue& field) {
  PipelineOptions scratch;
  try {
    if (field.form) {
      set_pipeline_setting_text(scratch, setting, *field.form);
    } else {
      set_pipeline_setting(scratch, setting, field.as_json());
    }
  } catch (const Error& e) {
    throw bad_request(e.what());
  }
  o.settings[std::string(setting.name)] = setting.get(scratch);
}

const PipelineSetting* request_setting(std::string_view name) {
  for (const auto& setting : pipeline_settings())
    if (setting.per_request && setting.name == name) return &setting;
  return nullptr;
}

void set_detector(RequestOptions& o, const FieldValue& field) {
  const auto before = o.settings.find("detector");
  const auto previous = before != o.settings.end() ? std::optional(before->get<std::string>()) : std::nullopt;
  set_setting(o, pipeline_setting("detector"), field);
  if (previous && *previous != o.settings["detector"].get<std::string>())
    throw bad_request("'detector' and 'detector_backend' name different detectors");
}

// deepface's fields are taken where they mean what ours do, and refused with the reason where they do not
// (README "deepface clients"), so that a deepface client never gets an answer it did not ask for.
void set_option(RequestOptions& o, const FieldValue& field) {
  const auto& name = field.name;
  if (name == "threshold") {
    o.threshold = field.number();
  } else if (name == "detector" || name == "detector_backend") {
    set_detector(o, field);
  } else if (name == "align" && field.is_boolean()) {
    if (!field.boolean())
      throw bad_request("'align': false is not supported: faces are always aligned (similarity or faceapi)");
  } else if (const auto* setting = request_setting(name)) {
    set_setting(o, *setting, field);
  } else if (name == "model_name") {
    const auto model = field.text();
    // face-api's recognition net is dlib's ResNet with dlib's weights: deepface calls it "Dlib".
    if (model != kEmbeddingModelId && model != "Dlib")
      throw bad_request("'model_name' " + model + " is not served here; the model is " +
                        std::string(kEmbeddingModelId) + " (deepface's Dlib)");
  } else if (name == "distance_metric") {
    if (field.text() != "euclidean")
      throw bad_request(
          "'distance_metric': only euclidean is served (on the raw descriptors, whose length is about 1.4, "
          "so euclidean_l2 and cosine distances and thresholds would differ)");
  } else if (name == "enforce_detection") {
    if (!field.boolean())
      throw bad_request(
          "'enforce_detection': false is not supported: an image without a face is never compared");
  } else {
    throw bad_request("unknown field '" + std::string(name) + "' (options: " + option_names() + ")");
  }
}

// The options of a JSON body: every field that is not one of `non_option_fields` (images, gallery
// fields) must be an option.
RequestOptions json_options(const element& object,
                            std::initializer_list<std::string_view> non_option_fields) {
  RequestOptions o;
  simdjson::dom::object fields;
  if (object.get_object().get(fields) != simdjson::SUCCESS)
    throw bad_request("the body must be a JSON object");
  for (const auto [key, value] : fields) {
    if (std::find(non_option_fields.begin(), non_option_fields.end(), key) != non_option_fields.end())
      continue;
    if (value.is_null()) continue;  // null means "not set", as for every field
    set_option(o, FieldValue{key, &value, nullptr});
  }
  return o;
}

constexpr std::array<std::int8_t, 256> base64_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  t['-'] = 62;  // URL-safe alphabet
  t['_'] = 63;
  return t;
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// One colour plane value: a JSON number 0..255, rounded to nearest.
std::uint8_t channel(const element& value, std::string_view field_name) {
  double v = 0;
  if (value.get_double().get(v) != simdjson::SUCCESS)
    throw bad_request("'" + std::string(field_name) + "' holds a non-number where a pixel value belongs");
  if (!(v >= 0 && v <= 255))
    throw bad_request("'" + std::string(field_name) + "' holds a pixel value outside 0..255");
  return static_cast<std::uint8_t>(std::lround(v));
}

simdjson::dom::array array_of(const element& value, std::string_view field_name, const char* what) {
  simdjson::dom::array a;
  if (value.get_array().get(a) != simdjson::SUCCESS)
    throw bad_request("'" + std::string(field_name) +
                      "' must be a nested list of shape [1][H][W][3] or "
                      "[H][W][3]; found a non-list where " +
                      what + " belongs");
  return a;
}

cv::Mat legacy_image(const element& object, std::string_view key, std::size_t max_pixels, int min_side) {
  const auto value = field(object, key);
  if (!value)
    throw bad_request("missing field '" + std::string(key) + "' (a nested list [1][H][W][3] of BGR values)");
  auto rows = array_of(*value, key, "the image");
  // [1][H][W][3] when value[0][0][0] is itself a list; then the batch of one is unwrapped.
  element e0, e00, e000;
  simdjson::dom::array a0, a00;
  const bool four_d = rows.at(0).get(e0) == simdjson::SUCCESS &&
                      e0.get_array().get(a0) == simdjson::SUCCESS && a0.at(0).get(e00) == simdjson::SUCCESS &&
                      e00.get_array().get(a00) == simdjson::SUCCESS &&
                      a00.at(0).get(e000) == simdjson::SUCCESS && e000.is_array();
  if (four_d) {
    if (rows.size() != 1)
      throw bad_request("'" + std::string(key) + "' has a batch dimension of " + std::to_string(rows.size()) +
                        "; send one image per field ([1][H][W][3])");
    rows = a0;
  }
  const std::size_t height = rows.size();
  element row0;
  if (height == 0 || rows.at(0).get(row0) != simdjson::SUCCESS)
    throw bad_image("'" + std::string(key) + "' is an empty image");
  const std::size_t width = array_of(row0, key, "a row").size();
  if (width != 0 && height > max_pixels / width)
    throw HttpError(413, "image_too_large",
                    std::string(key) + ": " + std::to_string(width) + "x" + std::to_string(height) +
                        " is over the limit of " + std::to_string(max_pixels) + " pixels");
  if (width < static_cast<std::size_t>(min_side) || height < static_cast<std::size_t>(min_side))
    throw bad_image("'" + std::string(key) + "' is " + std::to_string(width) + "x" + std::to_string(height) +
                    "; images must be at least " + std::to_string(min_side) + " pixels on each side");

  cv::Mat rgb(static_cast<int>(height), static_cast<int>(width), CV_8UC3);
  int y = 0;
  for (const element row_value : rows) {
    const auto row = array_of(row_value, key, "a row");
    if (row.size() != width)
      throw bad_request("'" + std::string(key) + "' is ragged: row " + std::to_string(y) + " has " +
                        std::to_string(row.size()) + " pixels, row 0 has " + std::to_string(width));
    auto* out = rgb.ptr<std::uint8_t>(y);
    for (const element pixel_value : row) {
      const auto pixel = array_of(pixel_value, key, "a pixel");
      if (pixel.size() != 3)
        throw bad_request("'" + std::string(key) + "' has a pixel with " + std::to_string(pixel.size()) +
                          " values; each pixel is [b, g, r]");
      std::array<std::uint8_t, 3> bgr{};
      int c = 0;
      for (const element v : pixel) bgr[c++] = channel(v, key);
      out[0] = bgr[2];
      out[1] = bgr[1];
      out[2] = bgr[0];
      out += 3;
    }
    ++y;
  }
  return rgb;
}

}  // namespace

PipelineOptions RequestOptions::apply(PipelineOptions base) const {
  try {
    return pipeline_from_json(settings, base);
  } catch (const Error& e) {
    throw bad_request(e.what());
  }
}

void RequestOptions::refuse_descriptor_settings() const {
  std::string sent;
  for (const auto& [name, value] : settings.items())
    if (pipeline_setting(name).affects_descriptors) sent += (sent.empty() ? "'" : ", '") + name + "'";
  if (!sent.empty())
    throw bad_request(
        "gallery routes use the server's pipeline (enrolled descriptors must stay comparable); "
        "leave out " +
        sent);
}

double RequestOptions::threshold_or(double fallback) const {
  if (!threshold) return fallback;
  try {
    check_threshold(*threshold, "'threshold'");
  } catch (const Error& e) {
    throw bad_request(std::string(e.what()) + " (default " + std::to_string(fallback) + ")");
  }
  return *threshold;
}

Bytes decode_base64_image(std::string_view text, std::string_view field_name) {
  if (text.starts_with("data:")) {
    const auto comma = text.find(',');
    if (comma == std::string_view::npos || text.substr(0, comma).find(";base64") == std::string_view::npos)
      throw bad_image("'" + std::string(field_name) + "' is a data URI without ';base64,' data",
                      std::string(field_name));
    text.remove_prefix(comma + 1);
  }
  static constexpr auto table = base64_table();
  Bytes out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t accumulator = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (const char c : text) {
    if (is_space(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const auto v = table[static_cast<unsigned char>(c)];
    if (v < 0 || padding > 0)
      throw bad_image("'" + std::string(field_name) +
                          "' is not base64 (send the image file's bytes base64-encoded; file paths and URLs "
                          "are not accepted)",
                      std::string(field_name));
    accumulator = (accumulator << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(accumulator >> bits));
    }
  }
  if (padding > 2 || bits >= 6)
    throw bad_image("'" + std::string(field_name) + "' is truncated base64", std::string(field_name));
  if (out.empty()) throw bad_image("'" + std::string(field_name) + "' is empty", std::string(field_name));
  return out;
}

VerifyRequest parse_verify_json(std::string_view body, std::size_t max_image_bytes) {
  simdjson::dom::parser parser;
  const auto doc = parse_json(parser, body);
  VerifyRequest r;
  r.options = json_options(doc, {"img1", "img2", "subject"});
  r.img1 = image_field(doc, "img1", max_image_bytes);
  if (const auto subject = field(doc, "subject")) {
    if (field(doc, "img2")) throw bad_request("give 'img2' or 'subject', not both");
    r.subject = std::string(string_field(*subject, "subject"));
    return r;
  }
  r.img2 = image_field(doc, "img2", max_image_bytes);
  return r;
}

std::int64_t parse_whole_number(std::string_view text, std::int64_t min, std::int64_t max,
                                const std::string& refusal) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    throw bad_request(refusal);
  return value;
}

std::size_t parse_top_k(std::string_view text) {
  return static_cast<std::size_t>(
      parse_whole_number(text, 1, 1000, "'top_k' must be a whole number from 1 to 1000"));
}

GalleryRequest parse_gallery_json(std::string_view body, std::size_t max_image_bytes) {
  simdjson::dom::parser parser;
  const auto doc = parse_json(parser, body);
  GalleryRequest r;
  r.options = json_options(doc, {"img", "label", "operating_point", "top_k"});
  r.img = image_field(doc, "img", max_image_bytes);
  if (const auto label = field(doc, "label")) r.label = std::string(string_field(*label, "label"));
  if (const auto point = field(doc, "operating_point"))
    r.operating_point = std::string(string_field(*point, "operating_point"));
  if (const auto k = field(doc, "top_k")) {
    std::uint64_t value = 0;
    if (k->get_uint64().get(value) != simdjson::SUCCESS || value < 1 || value > 1000)
      throw bad_request("'top_k' must be a whole number from 1 to 1000");
    r.top_k = static_cast<std::size_t>(value);
  }
  return r;
}

ImagesRequest parse_images_json(std::string_view body, bool allow_many, std::size_t max_images,
                                std::size_t max_image_bytes) {
  simdjson::dom::parser parser;
  const auto doc = parse_json(parser, body);
  ImagesRequest r;
  r.options = allow_many ? json_options(doc, {"img", "images"}) : json_options(doc, {"img"});
  const auto many = allow_many ? field(doc, "images") : std::nullopt;
  if (!many) {
    r.images.push_back(image_field(doc, "img", max_image_bytes));
    return r;
  }
  simdjson::dom::array list;
  if (many->get_array().get(list) != simdjson::SUCCESS || list.size() == 0)
    throw bad_request("'images' must be a non-empty list of base64-encoded images");
  r.listed = true;
  if (list.size() > max_images)
    throw bad_request("'images' holds " + std::to_string(list.size()) + " images; at most " +
                      std::to_string(max_images) + " per request");
  for (const element item : list) {
    const auto text = string_field(item, "images[]");
    const std::size_t i = r.images.size();
    const std::string which = "images[" + std::to_string(i) + "]";
    r.images.emplace_back();
    try {
      if (text.size() / 4 * 3 > max_image_bytes + 3)
        throw HttpError(
            413, "image_too_large",
            which + ": the image is over the limit of " + std::to_string(max_image_bytes) + " bytes", which);
      r.images.back() = decode_base64_image(text, which);
    } catch (const HttpError& e) {
      r.unreadable.emplace(i, e);
    }
  }
  return r;
}

LegacyRequest parse_legacy_request(std::string_view body, std::size_t max_pixels, int min_side) {
  simdjson::dom::parser parser;
  const auto doc = parse_json(parser, body);
  LegacyRequest r;
  r.truth = legacy_image(doc, "truth", max_pixels, min_side);
  r.check = legacy_image(doc, "check", max_pixels, min_side);
  return r;
}

RequestOptions parse_form_options(const std::vector<std::pair<std::string, std::string>>& fields) {
  RequestOptions o;
  for (const auto& [name, text] : fields) set_option(o, FieldValue{name, nullptr, &text});
  return o;
}

RequestOptions parse_option_fields(const std::optional<std::string>& threshold,
                                   const std::optional<std::string>& detector,
                                   const std::optional<std::string>& align,
                                   const std::optional<std::string>& face_policy) {
  std::vector<std::pair<std::string, std::string>> fields;
  if (threshold) fields.emplace_back("threshold", *threshold);
  if (detector) fields.emplace_back("detector", *detector);
  if (align) fields.emplace_back("align", *align);
  if (face_policy) fields.emplace_back("face_policy", *face_policy);
  return parse_form_options(fields);
}

}  // namespace facematch::server
