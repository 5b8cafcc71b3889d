// Stage 1: bytes -> 8-bit RGB image, with size limits enforced before any pixel is decoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

#include <opencv2/core.hpp>

namespace facematch {

struct DecodeLimits {
  std::size_t max_bytes = 20u * 1024 * 1024;   // encoded size
  std::size_t max_pixels = 40'000'000;         // width * height, read from the header first
  int min_side = 16;                           // smaller images cannot hold a usable face
};

// Decodes JPEG, PNG, WebP, BMP, PPM/PGM (whatever the linked OpenCV reads). EXIF orientation is
// applied; grayscale, CMYK, 16-bit and alpha inputs become 8-bit RGB (CV_8UC3, R first).
// Throws Error{bad_image} for undecodable bytes and Error{image_too_large} over a limit.
cv::Mat decode_image(std::span<const std::uint8_t> bytes, const DecodeLimits& limits = {});

// Reads a file (Error{io_error} if it cannot) and decodes it as above.
cv::Mat read_image(const std::filesystem::path& path, const DecodeLimits& limits = {});

}  // namespace facematch
