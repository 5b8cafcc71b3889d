// Stage 1: bytes -> 8-bit RGB image, with size limits enforced before any pixel is decoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <span>
#include <vector>

namespace facematch {

struct DecodeLimits {
  std::size_t max_bytes = 20u * 1024 * 1024;  // encoded size
  std::size_t max_pixels = 40'000'000;        // width * height, read from the header first
  int min_side = 16;                          // smaller images cannot hold a usable face
};

// Decodes JPEG, PNG, WebP, BMP, PPM/PGM (whatever the linked OpenCV reads). EXIF orientation is
// applied; grayscale, CMYK, 16-bit and alpha inputs become 8-bit RGB (CV_8UC3, R first).
// Throws Error{bad_image} for undecodable bytes and Error{image_too_large} over a limit.
cv::Mat decode_image(std::span<const std::uint8_t> bytes, const DecodeLimits& limits = {});

// Reads a file (Error{io_error} if it cannot) and decodes it as above.
cv::Mat read_image(const std::filesystem::path& path, const DecodeLimits& limits = {});

// The file's bytes, with the same errors and byte limit as read_image, for decoding more than once.
std::vector<std::uint8_t> read_image_bytes(const std::filesystem::path& path,
                                           const DecodeLimits& limits = {});

// Reduced decoding: libjpeg decodes a JPEG at 1/2, 1/4 or 1/8 of its size through DCT scaling (no
// full-size pixels are ever made), several times faster than decoding whole and resizing.
struct ScaledImage {
  cv::Mat rgb;        // CV_8UC3 RGB; 1/scale of the original size (libjpeg rounds up)
  int scale = 1;      // 1, 2, 4 or 8: original pixel coordinates are these times `scale`
  cv::Size original;  // the full-size image's size, EXIF orientation applied
};

// The largest scale (1, 2, 4 or 8) at which a JPEG's longer side stays at least `min_long_side` pixels;
// 1 for every other format, for min_long_side 0 and for data without a readable header.
int reduced_decode_scale(std::span<const std::uint8_t> bytes, int min_long_side);

// decode_image at 1/scale: `scale` above 1 is for JPEGs only (Error{invalid_argument} otherwise).
// The limits apply to the full-size image, as in decode_image.
ScaledImage decode_image_scaled(std::span<const std::uint8_t> bytes, int scale,
                                const DecodeLimits& limits = {});

}  // namespace facematch
