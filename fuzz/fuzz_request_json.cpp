// libFuzzer target: the JSON request parsers of `facematch serve` (src/server/request_parse.hpp).
// The first byte picks the parser (verify, detect, embed, the original nested-array API, or the
// multipart option fields); the rest is the body. Every input must end in a value or an HttpError.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/http_error.hpp"
#include "server/request_parse.hpp"

namespace {

constexpr std::size_t kMaxImageBytes = 1u << 20;
constexpr std::size_t kMaxPixels = 1'000'000;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace facematch::server;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0] % 5;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (mode) {
      case 0: {
        const auto r = parse_verify_json(body, kMaxImageBytes);
        check(!r.img1.empty() && !r.img2.empty() && r.img1.size() <= kMaxImageBytes + 3);
        (void)r.options.apply({});
        (void)r.options.threshold_or(0.6);
        break;
      }
      case 1:
      case 2: {
        const auto r = parse_images_json(body, mode == 2, 4, kMaxImageBytes);
        check(!r.images.empty() && r.images.size() <= 4);
        (void)r.options.apply({});
        break;
      }
      case 3: {
        const auto r = parse_legacy_request(body, kMaxPixels, 16);
        for (const auto* m : {&r.truth, &r.check})
          check(m->type() == CV_8UC3 && m->total() <= kMaxPixels && m->rows >= 16 && m->cols >= 16);
        break;
      }
      default: {
        // Four option fields separated by NUL, as a multipart form would carry them.
        std::optional<std::string> fields[4];
        std::size_t start = 0;
        for (int i = 0; i < 4 && start <= body.size(); ++i) {
          auto end = body.find('\0', start);
          if (end == std::string_view::npos) end = body.size();
          if (end > start) fields[i] = std::string(body.substr(start, end - start));
          start = end + 1;
        }
        const auto o = parse_option_fields(fields[0], fields[1], fields[2], fields[3]);
        (void)o.apply({});
        (void)o.threshold_or(0.6);
      }
    }
  } catch (const HttpError& e) {
    check(e.status() == 400 || e.status() == 413);
  }
  return 0;
}
