// Request bodies -> plain values. Pure functions over the raw text (no HTTP types), so each can be
// fed arbitrary bytes by a fuzzer. Every malformed input becomes an HttpError (400 or 413), never a
// crash, an unbounded allocation or a silently defaulted field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <map>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "facematch/verifier.hpp"
#include "server/http_error.hpp"

namespace facematch::server {

using Bytes = std::vector<std::uint8_t>;

// Per-request options; unset fields keep the server's defaults.
struct RequestOptions {
  std::optional<double> threshold;
  // The pipeline settings the request set, by name (pipeline.hpp; those marked per_request), each
  // already checked by the setting's rule, the CLI flag's too.
  nlohmann::json settings = nlohmann::json::object();

  // `base` with the set fields applied.
  PipelineOptions apply(PipelineOptions base) const;
  double threshold_or(double fallback) const;
  // 400 bad_request naming the settings sent that change descriptors (gallery routes: enrolled
  // descriptors must stay comparable).
  void refuse_descriptor_settings() const;
};

struct VerifyRequest {
  Bytes img1, img2;  // img2 is empty when `subject` is given (the photo against an enrolled subject)
  std::optional<std::string> subject;
  RequestOptions options;
};

// The gallery routes' bodies (POST /subjects/{subject}/faces, POST /identify): one image plus
// options. Strings are returned as sent (NUL bytes included); the gallery checks them.
struct GalleryRequest {
  Bytes img;
  RequestOptions options;
  std::optional<std::string> label, operating_point;
  std::optional<std::size_t> top_k;
};

struct ImagesRequest {
  std::vector<Bytes> images;  // one for {"img"}, one or more for {"images": [...]}
  bool listed = false;        // sent as "images" (errors then name images[i])
  // Listed images that could not be read (not base64, over the byte limit), by index: /embed answers
  // each as its error and still analyses the others (their Bytes are empty).
  std::map<std::size_t, HttpError> unreadable;
  RequestOptions options;
};

// The original cloud function's request: two images already decoded to RGB (CV_8UC3).
struct LegacyRequest {
  cv::Mat truth, check;
};

// Standard base64 (also the URL-safe alphabet); ASCII whitespace is skipped, padding optional.
// An optional "data:<type>;base64," prefix is removed first. Throws bad_image naming `field`.
Bytes decode_base64_image(std::string_view text, std::string_view field);

// {"img1": "<base64>", "img2": "<base64>", "threshold"?, and any per-request pipeline setting by name
// ("detector"?, "align"?, "face_policy"?, "min_quality"?, "cascade_sure_score"? ...)}, or "subject" (an
// enrolled subject's name) instead of "img2", and deepface's names for them (README "deepface clients"). An
// unknown field is 400 naming it: a misspelt option would otherwise be ignored silently. `max_image_bytes`
// bounds each decoded image.
VerifyRequest parse_verify_json(std::string_view body, std::size_t max_image_bytes);

// {"img": "<base64>", "label"?, "top_k"?, "operating_point"?, "threshold"?, "face_policy"?, "min_quality"?}
GalleryRequest parse_gallery_json(std::string_view body, std::size_t max_image_bytes);
// A decimal whole number from `min` to `max` and nothing else (no sign, space or fraction), else
// bad_request(refusal): form fields, query parameters and path segments.
std::int64_t parse_whole_number(std::string_view text, std::int64_t min, std::int64_t max,
                                const std::string& refusal);
// The multipart twins of top_k: a decimal count from 1 to 1000.
std::size_t parse_top_k(std::string_view text);

// {"img": "<base64>"} or, when `allow_many`, {"images": ["<base64>", ...]} (at most `max_images`).
ImagesRequest parse_images_json(std::string_view body, bool allow_many, std::size_t max_images,
                                std::size_t max_image_bytes);

// {"truth": IMG, "check": IMG}, IMG a nested list [1][H][W][3] or [H][W][3] of numbers 0..255 in BGR
// order (as cv2 reads). Values are rounded to the nearest integer. Ragged rows, pixels without exactly
// three values, non-numbers and values outside 0..255 are 400 bad_request; H or W under `min_side` is
// 400 bad_image; H*W over `max_pixels` is 413 image_too_large.
LegacyRequest parse_legacy_request(std::string_view body, std::size_t max_pixels, int min_side = 16);

// The option fields of a multipart form as (name, text), every field except the images; the names and
// checks of the JSON bodies, booleans as "true"/"false". An unknown name is 400 naming it.
RequestOptions parse_form_options(const std::vector<std::pair<std::string, std::string>>& fields);

// The same for the four text fields threshold, detector, align and face_policy.
RequestOptions parse_option_fields(const std::optional<std::string>& threshold,
                                   const std::optional<std::string>& detector,
                                   const std::optional<std::string>& align,
                                   const std::optional<std::string>& face_policy);

}  // namespace facematch::server
