// libFuzzer target: facematch::decode_image over arbitrary bytes. Every input must end in an image or
// in facematch::Error; anything else (a crash, another exception, a sanitizer report) is a bug.
// The pixel limit is lowered so that a valid header cannot make one input allocate hundreds of MB.
#include <cstddef>
#include <cstdint>
#include <span>

#include "facematch/error.hpp"
#include "facematch/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  facematch::DecodeLimits limits;
  limits.max_bytes = 1u << 20;
  limits.max_pixels = 4'000'000;
  try {
    const cv::Mat rgb = facematch::decode_image(std::span<const std::uint8_t>(data, size), limits);
    // The contract callers rely on: 8-bit RGB within the limits.
    if (rgb.type() != CV_8UC3 || static_cast<std::size_t>(rgb.total()) > limits.max_pixels ||
        rgb.cols < limits.min_side || rgb.rows < limits.min_side)
      __builtin_trap();
  } catch (const facematch::Error&) {
  }
  return 0;
}
