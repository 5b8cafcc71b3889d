// One error type for the whole library. Library code throws facematch::Error; the CLI and the
// server map Error::code() to exit codes and HTTP statuses at their edges.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace facematch {

enum class ErrorCode {
  invalid_argument,  // a caller-supplied option or value is out of range
  bad_image,         // bytes that do not decode to an image, or an image too small to use
  image_too_large,   // over the byte or pixel limit (checked before decoding)
  no_face,           // decoding worked but no face was found
  too_many_faces,    // face policy `error` and more than one face
  low_quality,       // a face was found but cannot be compared (e.g. cut off by the image edge)
  model_error,       // model files missing, altered or of the wrong shape
  io_error,          // a file could not be read or written
  not_found,         // a named record (a gallery subject or face) does not exist
  unavailable,       // a database the call needs cannot be used now (corrupt, read-only, down, newer schema)
  incompatible,      // stored data this build cannot use (descriptors of another model: re-enrol)
  internal,          // a bug or an engine failure; never the caller's fault
};

std::string_view to_string(ErrorCode code);

class Error : public std::runtime_error {
 public:
  // `image`: the image at fault, when one is ("img1", "images[1]", a file path); answers carry it as a
  // field of their own (README "Errors") as well as at the start of the message.
  Error(ErrorCode code, const std::string& message, std::string image = {})
      : std::runtime_error(message), code_(code), image_(std::move(image)) {}
  ErrorCode code() const noexcept { return code_; }
  const std::string& image() const noexcept { return image_; }

 private:
  ErrorCode code_;
  std::string image_;
};

// `error` as being about `image`: the same code, the message prefixed "image: " (once: an error already
// about an image keeps its name).
Error about_image(const Error& error, const std::string& image);

}  // namespace facematch
