// The service's error vocabulary: a status, a stable snake_case code and a message that says what to
// do. Library errors (facematch::Error) are mapped to it in one place (from_library_error).
#pragma once

#include <stdexcept>
#include <string>

#include "facematch/error.hpp"

namespace facematch::server {

class HttpError : public std::runtime_error {
 public:
  // `image`: the request's field at fault ("img1", "images[1]"), as facematch::Error::image().
  HttpError(int status, std::string code, const std::string& message, std::string image = {})
      : std::runtime_error(message), status_(status), code_(std::move(code)), image_(std::move(image)) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }
  const std::string& image() const noexcept { return image_; }

 private:
  int status_;
  std::string code_;
  std::string image_;
};

inline HttpError bad_request(const std::string& message) { return {400, "bad_request", message}; }
inline HttpError bad_image(const std::string& message, std::string image = {}) {
  return {400, "bad_image", message, std::move(image)};
}

// invalid_argument -> 400 bad_request, bad_image -> 400, image_too_large -> 413, no_face and
// too_many_faces, low_quality -> 422, everything else (model, io, internal) -> 500 internal with a
// generic message, since those are never the caller's fault and their text may name server paths.
// The image at fault is kept.
HttpError from_library_error(const Error& error);

}  // namespace facematch::server
