// Stage 1: bytes -> 8-bit RGB. The container header is parsed here, before OpenCV sees the bytes, so
// that the byte and pixel limits hold no matter what the file claims: cv::imdecode allocates the
// whole output from the header's dimensions before it reads a single pixel.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "facematch/error.hpp"
#include "facematch/image.hpp"

namespace facematch {
namespace {

using Bytes = std::span<const std::uint8_t>;

// imdecode refuses anything over these (modules/imgcodecs/src/loadsave.cpp, validateInputImageSize);
// checking them here turns its silent empty result into an explicit image_too_large.
constexpr std::uint64_t kOpenCvMaxSide = 1u << 20;
constexpr std::uint64_t kOpenCvMaxPixels = 1u << 30;

constexpr std::string_view kKnownFormats = "JPEG, PNG, WebP, BMP, PPM/PGM or TIFF";

struct Header {
  std::string_view format;
  std::uint64_t width = 0;
  std::uint64_t height = 0;
};

[[noreturn]] void bad_image(const std::string& message) { throw Error(ErrorCode::bad_image, message); }

bool starts_with(Bytes b, std::size_t offset, std::string_view s) {
  return b.size() >= offset + s.size() && std::memcmp(b.data() + offset, s.data(), s.size()) == 0;
}

std::uint32_t be16(Bytes b, std::size_t i) { return (std::uint32_t{b[i]} << 8) | b[i + 1]; }
std::uint32_t le16(Bytes b, std::size_t i) { return (std::uint32_t{b[i + 1]} << 8) | b[i]; }
std::uint32_t be32(Bytes b, std::size_t i) { return (be16(b, i) << 16) | be16(b, i + 2); }
std::uint32_t le32(Bytes b, std::size_t i) { return (le16(b, i + 2) << 16) | le16(b, i); }
std::uint32_t le24(Bytes b, std::size_t i) { return (std::uint32_t{b[i + 2]} << 16) | le16(b, i); }

std::string hex_prefix(Bytes b) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < std::min<std::size_t>(b.size(), 8); ++i) {
    std::snprintf(buf, sizeof buf, i ? " %02x" : "%02x", b[i]);
    out += buf;
  }
  return out;
}

// "10000", "40", "12.5": whole numbers without a fraction, others with one decimal.
std::string megapixels(std::uint64_t pixels) {
  char buf[32];
  if (pixels % 1'000'000 == 0) {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(pixels / 1'000'000));
  } else if (pixels >= 100'000) {
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(pixels) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", static_cast<double>(pixels) / 1e6);
  }
  return buf;
}

std::string megabytes(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB (%llu bytes)", static_cast<double>(bytes) / (1024.0 * 1024.0),
                static_cast<unsigned long long>(bytes));
  return buf;
}

// --- JPEG ---------------------------------------------------------------------------------------

bool is_sof(std::uint8_t m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }
bool is_standalone(std::uint8_t m) { return m == 0x01 || (m >= 0xD0 && m <= 0xD8); }

// Walks the marker segments the way libjpeg does (garbage between segments is skipped up to the next
// 0xFF) and stops at the first SOFn, whose dimensions are the ones libjpeg will decode.
Header parse_jpeg(Bytes b) {
  std::size_t pos = 2;
  while (true) {
    while (pos < b.size() && b[pos] != 0xFF) ++pos;
    while (pos < b.size() && b[pos] == 0xFF) ++pos;
    if (pos >= b.size())
      bad_image("JPEG data ends before its frame header (SOF); the file is truncated or corrupt");
    const std::uint8_t marker = b[pos++];
    if (is_standalone(marker)) continue;
    if (marker == 0xD9 || marker == 0xDA)
      bad_image("JPEG has no frame header (SOF) before its image data; the file is corrupt");
    if (pos + 2 > b.size()) bad_image("JPEG data ends inside a marker segment; the file is truncated");
    const std::size_t length = be16(b, pos);
    if (length < 2 || pos + length > b.size()) {
      bad_image("JPEG marker segment runs past the end of the data; the file is truncated or corrupt");
    }
    if (is_sof(marker)) {
      if (length < 8) bad_image("JPEG frame header (SOF) is too short; the file is corrupt");
      return {"JPEG", be16(b, pos + 5), be16(b, pos + 3)};
    }
    pos += length;
  }
}

// libjpeg decodes a truncated JPEG without complaint (the missing rows come out gray) and so does
// cv::imdecode, so completeness is checked here: after the first scan starts there must be an EOI
// marker, reached by walking the entropy-coded data (where 0xFF is always stuffed or a restart
// marker) and the segments between progressive scans.
bool jpeg_is_complete(Bytes b) {
  std::size_t pos = 2;
  bool in_scan = false;
  while (pos < b.size()) {
    if (b[pos] != 0xFF) {
      const void* next = std::memchr(b.data() + pos, 0xFF, b.size() - pos);
      if (next == nullptr) return false;
      pos = static_cast<std::size_t>(static_cast<const std::uint8_t*>(next) - b.data());
    }
    while (pos < b.size() && b[pos] == 0xFF) ++pos;
    if (pos >= b.size()) return false;
    const std::uint8_t marker = b[pos++];
    if (marker == 0x00 || is_standalone(marker)) continue;  // stuffed byte, restart marker
    if (marker == 0xD9) return in_scan;
    if (pos + 2 > b.size()) return false;
    const std::size_t length = be16(b, pos);
    if (length < 2) return false;
    pos += length;
    if (marker == 0xDA) in_scan = true;
  }
  return false;
}

// --- Other formats ------------------------------------------------------------------------------

Header parse_png(Bytes b) {
  if (b.size() < 24 || !starts_with(b, 12, "IHDR"))
    bad_image("PNG has no IHDR header; the file is truncated or corrupt");
  return {"PNG", be32(b, 16), be32(b, 20)};
}

Header parse_webp(Bytes b) {
  if (starts_with(b, 12, "VP8 ")) {
    // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit sizes with 2 scale bits the decoder ignores.
    if (b.size() < 30 || b[23] != 0x9D || b[24] != 0x01 || b[25] != 0x2A) {
      bad_image("WebP (lossy) frame header is missing or corrupt");
    }
    return {"WebP", le16(b, 26) & 0x3FFF, le16(b, 28) & 0x3FFF};
  }
  if (starts_with(b, 12, "VP8L")) {
    if (b.size() < 25 || b[20] != 0x2F) bad_image("WebP (lossless) header is missing or corrupt");
    const std::uint32_t bits = le32(b, 21);
    return {"WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
  }
  if (starts_with(b, 12, "VP8X")) {
    if (b.size() < 30) bad_image("WebP extended header is truncated");
    if (b[20] & 0x02)
      bad_image("animated WebP images are not supported; export a single frame as JPEG or PNG");
    return {"WebP", le24(b, 24) + 1, le24(b, 27) + 1};
  }
  bad_image("WebP has no VP8, VP8L or VP8X chunk where expected; the file is corrupt");
}

Header parse_bmp(Bytes b) {
  if (b.size() < 26) bad_image("BMP header is truncated");
  const std::uint32_t dib_size = le32(b, 14);
  if (dib_size == 12) return {"BMP", le16(b, 18), le16(b, 20)};  // OS/2 BITMAPCOREHEADER
  if (dib_size < 16 || b.size() < 26) bad_image("BMP header is corrupt");
  const auto width = static_cast<std::int32_t>(le32(b, 18));
  const auto height = static_cast<std::int32_t>(le32(b, 22));  // negative: rows stored top-down
  if (width <= 0 || height == 0 || height == INT32_MIN) bad_image("BMP header has an invalid size");
  return {"BMP", static_cast<std::uint64_t>(width),
          static_cast<std::uint64_t>(height < 0 ? -std::int64_t{height} : height)};
}

Header parse_gif(Bytes b) {
  if (b.size() < 10) bad_image("GIF header is truncated");
  return {"GIF", le16(b, 6), le16(b, 8)};
}

// P1..P6: magic, then width and height as decimal numbers separated by whitespace and # comments.
// OpenCV's reader (grfmt_pxm.cpp, ReadNumber) swallows the byte that ends a number whatever it is, so
// in "640#x\n480" it never sees the comment and reads the next number from inside it. Netpbm allows a
// comment there; we refuse it, because the two readers would disagree on the size.
Header parse_pnm(Bytes b) {
  std::size_t pos = 2;
  auto number = [&]() -> std::uint64_t {
    while (pos < b.size()) {
      if (b[pos] == '#') {
        while (pos < b.size() && b[pos] != '\n' && b[pos] != '\r') ++pos;
      } else if (std::isspace(b[pos])) {
        ++pos;
      } else {
        break;
      }
    }
    if (pos >= b.size() || !std::isdigit(b[pos])) bad_image("PPM/PGM header is truncated or corrupt");
    std::uint64_t value = 0;
    while (pos < b.size() && std::isdigit(b[pos])) {
      value = value * 10 + (b[pos++] - '0');
      if (value > 0xFFFFFFFFu) bad_image("PPM/PGM header has an absurd size");
    }
    if (pos >= b.size()) bad_image("PPM/PGM header is truncated");
    if (!std::isspace(b[pos])) {
      bad_image(
          "PPM/PGM header has no whitespace after a number (a comment must not follow a number "
          "directly); re-export the file");
    }
    return value;
  };
  const std::uint64_t width = number();
  const std::uint64_t height = number();
  return {"PPM/PGM", width, height};
}

// Reads ImageWidth (256) and ImageLength (257) from the first IFD, the page OpenCV decodes.
Header parse_tiff(Bytes b) {
  const bool le = b[0] == 'I';
  auto u16 = [&](std::size_t i) { return le ? le16(b, i) : be16(b, i); };
  auto u32 = [&](std::size_t i) { return le ? le32(b, i) : be32(b, i); };
  if (b.size() < 8) bad_image("TIFF header is truncated");
  const std::uint64_t ifd = u32(4);
  if (ifd + 2 > b.size())
    bad_image("TIFF first directory lies past the end of the data; the file is truncated");
  const std::uint32_t count = u16(ifd);
  std::uint64_t width = 0, height = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint64_t e = ifd + 2 + 12ull * i;
    if (e + 12 > b.size()) bad_image("TIFF directory is truncated");
    const std::uint32_t tag = u16(e), type = u16(e + 2);
    if (tag != 256 && tag != 257) continue;
    const std::uint64_t value = type == 3 ? u16(e + 8) : type == 4 ? u32(e + 8) : 0;
    // A repeated tag takes the larger value: libtiff keeps one of them, and an over-estimate can only
    // make the limits stricter (a decoded size that differs from the header is refused below).
    std::uint64_t& side = tag == 256 ? width : height;
    side = std::max(side, value);
  }
  if (width == 0 || height == 0) bad_image("TIFF has no image width/length in its first directory");
  return {"TIFF", width, height};
}

Header parse_header(Bytes b) {
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return parse_jpeg(b);
  if (starts_with(b, 0, "\x89PNG\r\n\x1a\n")) return parse_png(b);
  if (starts_with(b, 0, "RIFF") && starts_with(b, 8, "WEBP")) return parse_webp(b);
  if (starts_with(b, 0, "BM")) return parse_bmp(b);
  if (starts_with(b, 0, "GIF87a") || starts_with(b, 0, "GIF89a")) return parse_gif(b);
  // OpenCV's PxM reader claims the data only with whitespace after the magic (as netpbm requires).
  if (b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' && std::isspace(b[2])) return parse_pnm(b);
  if (starts_with(b, 0, std::string_view("II*\0", 4)) || starts_with(b, 0, std::string_view("MM\0*", 4))) {
    return parse_tiff(b);
  }
  if (starts_with(b, 4, "ftyp")) {
    const std::string brand(reinterpret_cast<const char*>(b.data() + 8),
                            std::min<std::size_t>(4, b.size() - 8));
    bad_image("data is an ISO media file (brand '" + brand +
              "', e.g. HEIC or AVIF), which cannot be decoded; " + "convert it to JPEG or PNG");
  }
  bad_image("data is not a " + std::string(kKnownFormats) + " image (it starts with " + hex_prefix(b) + ")");
}

void check_dimensions(const Header& h, const DecodeLimits& limits) {
  const std::string size = std::to_string(h.width) + "x" + std::to_string(h.height);
  if (h.width == 0 || h.height == 0)
    bad_image(std::string(h.format) + " header gives an empty image (" + size + ")");
  // Both sides are below 2^32, so the product cannot overflow.
  const std::uint64_t pixels = h.width * h.height;
  if (pixels > limits.max_pixels) {
    throw Error(ErrorCode::image_too_large,
                "image is " + size + " = " + megapixels(pixels) + " megapixels, over the limit of " +
                    megapixels(limits.max_pixels) + " megapixels; downscale it first");
  }
  if (h.width > kOpenCvMaxSide || h.height > kOpenCvMaxSide || pixels > kOpenCvMaxPixels) {
    throw Error(ErrorCode::image_too_large,
                "image is " + size + ", over the image decoder's limit of " + std::to_string(kOpenCvMaxSide) +
                    " pixels a side and " + megapixels(kOpenCvMaxPixels) + " megapixels; downscale it first");
  }
  const auto min_side = static_cast<std::uint64_t>(std::max(limits.min_side, 0));
  if (h.width < min_side || h.height < min_side) {
    bad_image("image is " + size + " pixels; a side under " + std::to_string(min_side) +
              " pixels is too small to hold a usable face");
  }
}

}  // namespace

int reduced_decode_scale(std::span<const std::uint8_t> bytes, int min_long_side) {
  if (min_long_side <= 0) return 1;
  try {
    const Header header = parse_header(bytes);
    if (header.format != "JPEG") return 1;
    const std::uint64_t long_side = std::max(header.width, header.height);
    const std::uint64_t short_side = std::min(header.width, header.height);
    // Keeps panoramas and strips from shrinking into slivers the detectors cannot work on.
    constexpr std::uint64_t kMinShortSide = 64;
    int scale = 1;
    while (scale < 8) {
      const auto next = static_cast<std::uint64_t>(scale * 2);
      if (long_side / next < static_cast<std::uint64_t>(min_long_side) || short_side / next < kMinShortSide)
        break;
      scale *= 2;
    }
    return scale;
  } catch (const Error&) {
    return 1;  // decode_image_scaled reports what is wrong with the data
  }
}

ScaledImage decode_image_scaled(std::span<const std::uint8_t> bytes, int scale, const DecodeLimits& limits) {
  if (scale != 1 && scale != 2 && scale != 4 && scale != 8)
    throw Error(ErrorCode::invalid_argument, "decode scale must be 1, 2, 4 or 8");
  if (bytes.size() > limits.max_bytes) {
    throw Error(ErrorCode::image_too_large, "image data is " + megabytes(bytes.size()) +
                                                ", over the limit of " + megabytes(limits.max_bytes));
  }
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    // cv::imdecode takes the buffer as a one-row Mat, whose width is an int.
    throw Error(ErrorCode::image_too_large,
                "image data is " + megabytes(bytes.size()) + ", over the image decoder's limit of 2 GB");
  }
  if (bytes.empty()) bad_image("image data is empty");

  const Header header = parse_header(bytes);
  check_dimensions(header, limits);
  if (scale != 1 && header.format != "JPEG")
    throw Error(ErrorCode::invalid_argument, "only JPEGs can be decoded at a reduced scale");
  if (header.format == "GIF")
    bad_image("GIF images cannot be decoded by the linked OpenCV; convert the file to PNG or JPEG");
  // cv::imdecode gives the data to the first reader that claims it. When the reader of the format parsed
  // here declines (a WebP that libwebp rejects, say), the next in line is the DICOM reader, which claims
  // anything with "DICM" at byte 128, and Debian's GDCM aborts the process on malformed data (found by
  // fuzzing). No photo of ours carries that signature.
  if (starts_with(bytes, 128, "DICM")) {
    bad_image("data is a " + std::string(header.format) +
              " header with a DICOM signature at byte 128; such hybrids are refused, re-export the image as "
              "JPEG or PNG");
  }
  if (header.format == "JPEG" && !jpeg_is_complete(bytes)) {
    bad_image(
        "JPEG data is truncated or corrupt (no end-of-image marker after the image data); "
        "re-download or re-export the file");
  }

  cv::Mat bgr;
  try {
    // imdecode only reads the buffer; the const_cast is the price of cv::Mat's non-const data pointer.
    const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1,
                          const_cast<std::uint8_t*>(bytes.data()));
    // IMREAD_COLOR (unlike IMREAD_UNCHANGED) applies the EXIF orientation, converts gray/CMYK to 3
    // channels, drops alpha and reduces 16-bit samples to 8 bits.
    // The REDUCED flags select libjpeg's DCT scaling (scale_denom) for JPEGs.
    const int flags = scale == 2   ? cv::IMREAD_REDUCED_COLOR_2
                      : scale == 4 ? cv::IMREAD_REDUCED_COLOR_4
                      : scale == 8 ? cv::IMREAD_REDUCED_COLOR_8
                                   : cv::IMREAD_COLOR;
    bgr = cv::imdecode(encoded, flags);
  } catch (const cv::Exception& e) {
    bad_image("could not decode the " + std::string(header.format) + " image: " + e.what());
  }
  if (bgr.empty()) {
    bad_image("could not decode the " + std::string(header.format) +
              " image: the data is corrupt or uses a variant the decoder does not support; "
              "re-export it as a baseline JPEG or PNG");
  }
  const auto cols = static_cast<std::uint64_t>(bgr.cols), rows = static_cast<std::uint64_t>(bgr.rows);
  const auto s = static_cast<std::uint64_t>(scale);
  // libjpeg rounds a scaled side up.
  const std::uint64_t width = (header.width + s - 1) / s, height = (header.height + s - 1) / s;
  const bool same = cols == width && rows == height;
  const bool rotated = cols == height && rows == width;  // EXIF orientation 5..8
  if ((!same && !rotated) || bgr.type() != CV_8UC3) {
    bad_image("decoded " + std::string(header.format) + " image (" + std::to_string(cols) + "x" +
              std::to_string(rows) + ") does not match its header (" + std::to_string(header.width) + "x" +
              std::to_string(header.height) + (scale == 1 ? "" : " at 1/" + std::to_string(scale)) +
              "); the file is corrupt");
  }
  ScaledImage out;
  cv::cvtColor(bgr, out.rgb, cv::COLOR_BGR2RGB);
  out.scale = scale;
  // Both sides are within the pixel limit checked above, so they fit an int.
  out.original = same ? cv::Size(static_cast<int>(header.width), static_cast<int>(header.height))
                      : cv::Size(static_cast<int>(header.height), static_cast<int>(header.width));
  return out;
}

cv::Mat decode_image(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  return decode_image_scaled(bytes, 1, limits).rgb;
}

std::vector<std::uint8_t> read_image_bytes(const std::filesystem::path& path, const DecodeLimits& limits) {
  std::string name = path.string();
  name.insert(name.begin(), '\'');
  name.push_back('\'');
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    throw Error(ErrorCode::io_error,
                "cannot read image file " + name + ": " + (ec ? ec.message() : std::string("no such file")));
  }
  if (std::filesystem::is_directory(status)) {
    throw Error(ErrorCode::io_error, "cannot read image file " + name + ": it is a directory");
  }
  if (std::filesystem::is_regular_file(status)) {
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > limits.max_bytes) {
      throw Error(ErrorCode::image_too_large, "image file " + name + " is " + megabytes(size) +
                                                  ", over the limit of " + megabytes(limits.max_bytes));
    }
  }

  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw Error(ErrorCode::io_error, "cannot open image file " + name + ": " + std::strerror(errno));
  // Read at most one byte over the limit so that a pipe or a file growing under us cannot exhaust memory.
  std::vector<std::uint8_t> bytes;
  const std::size_t cap = limits.max_bytes == SIZE_MAX ? SIZE_MAX : limits.max_bytes + 1;
  std::uint8_t chunk[1 << 16];
  while (bytes.size() < cap) {
    const std::size_t want = std::min<std::size_t>(sizeof chunk, cap - bytes.size());
    const std::size_t got = std::fread(chunk, 1, want, file.get());
    bytes.insert(bytes.end(), chunk, chunk + got);
    if (got < want) break;
  }
  if (std::ferror(file.get())) {
    throw Error(ErrorCode::io_error, "cannot read image file " + name + ": " + std::strerror(errno));
  }
  if (bytes.size() > limits.max_bytes) {
    throw Error(ErrorCode::image_too_large,
                "image file " + name + " is over the limit of " + megabytes(limits.max_bytes));
  }
  return bytes;
}

cv::Mat read_image(const std::filesystem::path& path, const DecodeLimits& limits) {
  return decode_image(read_image_bytes(path, limits), limits);
}

}  // namespace facematch
