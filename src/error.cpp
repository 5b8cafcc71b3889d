#include "facematch/error.hpp"

namespace facematch {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::bad_image: return "bad_image";
    case ErrorCode::image_too_large: return "image_too_large";
    case ErrorCode::no_face: return "no_face";
    case ErrorCode::too_many_faces: return "too_many_faces";
    case ErrorCode::low_quality: return "low_quality";
    case ErrorCode::model_error: return "model_error";
    case ErrorCode::io_error: return "io_error";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::incompatible: return "incompatible";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

Error about_image(const Error& error, const std::string& image) {
  if (!error.image().empty()) return error;
  return Error(error.code(), image + ": " + error.what(), image);
}

}  // namespace facematch
