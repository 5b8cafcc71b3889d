// Stage 1, decoding: real photos from ../shared/faces, and inputs built in memory for the limits, the
// header parsers, the formats OpenCV converts (gray, 16-bit, alpha, CMYK, EXIF orientation) and damage.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

#include "facematch/error.hpp"
#include "facematch/image.hpp"
#include "image/quarter_turn.hpp"
#include "test_support.hpp"

namespace fm = facematch;
using Bytes = std::vector<std::uint8_t>;

namespace {

std::filesystem::path face(const std::string& name) {
  const auto path = fm::testing::shared_dir() / "faces" / name;
  fm::testing::require_file(path,
                            "the labelled photos live in ../shared/faces; set FACEMATCH_SHARED to move them");
  return path;
}

Bytes face_bytes(const std::string& name) { return fm::testing::read_bytes(face(name)); }

// The error a call throws, with its message; fails the test when it returns normally.
fm::Error error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const fm::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a facematch::Error";
  return fm::Error(fm::ErrorCode::internal, "no error thrown");
}

void expect_error(const Bytes& bytes, fm::ErrorCode code, const std::string& needle = "",
                  const fm::DecodeLimits& limits = {}) {
  const auto e = error_of([&] { fm::decode_image(bytes, limits); });
  EXPECT_EQ(e.code(), code) << e.what();
  EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
}

Bytes encode(const std::string& ext, const cv::Mat& image, const std::vector<int>& params = {}) {
  Bytes out;
  if (!cv::imencode(ext, image, out, params)) throw std::runtime_error("cannot encode test image as " + ext);
  return out;
}

// A BGR test card whose corners differ, so that orientation and channel order are both visible.
cv::Mat test_card(int width, int height) {
  cv::Mat bgr(height, width, CV_8UC3, cv::Scalar(40, 80, 120));
  bgr(cv::Rect(0, 0, width / 4, height / 4)).setTo(cv::Scalar(255, 0, 0));                  // top-left blue
  bgr(cv::Rect(width - width / 4, 0, width / 4, height / 4)).setTo(cv::Scalar(0, 255, 0));  // top-right green
  return bgr;
}

cv::Vec3b rgb_at(const cv::Mat& rgb, int x, int y) { return rgb.at<cv::Vec3b>(y, x); }

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void put_be32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// Signature and a valid IHDR chunk (8-bit RGB) claiming width x height, with no pixel data.
Bytes png_header(std::uint32_t width, std::uint32_t height) {
  Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  put_be32(out, 13);
  const std::size_t type_at = out.size();
  out.insert(out.end(), {'I', 'H', 'D', 'R'});
  put_be32(out, width);
  put_be32(out, height);
  out.insert(out.end(), {8, 2, 0, 0, 0});
  put_be32(out, crc32(out.data() + type_at, out.size() - type_at));
  return out;
}

// A one-entry EXIF IFD0 (TIFF structure) holding the given Orientation.
Bytes exif_tiff(int orientation, bool big_endian) {
  const auto o = static_cast<std::uint8_t>(orientation);
  return big_endian ? Bytes{'M', 'M', 0, 0x2A, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0,
                            3,   0,   0, 0,    1, 0, o, 0, 0, 0, 0,    0,    0}
                    : Bytes{'I', 'I', 0x2A, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3,
                            0,   1,   0,    0, 0, o, 0, 0, 0, 0, 0,    0,    0};
}

// A JPEG APP1 segment: marker, length, "Exif\0\0", the TIFF structure.
Bytes exif_app1(int orientation, bool big_endian) {
  const Bytes tiff = exif_tiff(orientation, big_endian);
  const std::size_t length = 2 + 6 + tiff.size();
  Bytes out(2 + length);
  const std::uint8_t head[] = {0xFF,
                               0xE1,
                               static_cast<std::uint8_t>(length >> 8),
                               static_cast<std::uint8_t>(length),
                               'E',
                               'x',
                               'i',
                               'f',
                               0,
                               0};
  std::copy(std::begin(head), std::end(head), out.begin());
  std::copy(tiff.begin(), tiff.end(), out.begin() + sizeof head);
  return out;
}

Bytes with_exif(const Bytes& jpeg, int orientation, bool big_endian = false) {
  Bytes out(jpeg.begin(), jpeg.begin() + 2);  // SOI
  const Bytes app1 = exif_app1(orientation, big_endian);
  out.insert(out.end(), app1.begin(), app1.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

// Offset of the first SOF0..SOF2 marker's payload in an encoder's JPEG.
std::size_t sof_offset(const Bytes& jpeg) {
  for (std::size_t i = 2; i + 1 < jpeg.size(); ++i)
    if (jpeg[i] == 0xFF && jpeg[i + 1] >= 0xC0 && jpeg[i + 1] <= 0xC2) return i + 4;
  throw std::runtime_error("test JPEG has no SOF marker");
}

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  const cv::Scalar m = cv::mean(diff);
  return (m[0] + m[1] + m[2]) / 3.0;
}

cv::Mat bgr_to_rgb(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

bool equal(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

}  // namespace

// ---- real photos -------------------------------------------------------------------------------

TEST(Decode, JpegPhotoIsRgbInHeaderSize) {
  const Bytes bytes = face_bytes("obama_1.jpg");
  const cv::Mat rgb = fm::decode_image(bytes);
  EXPECT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.cols, 910);
  EXPECT_EQ(rgb.rows, 1137);
  // R first: the same pixels OpenCV gives in BGR, channels reversed.
  EXPECT_TRUE(equal(rgb, bgr_to_rgb(cv::imdecode(bytes, cv::IMREAD_COLOR))));
}

TEST(Decode, ReadImageMatchesDecodeImage) {
  const cv::Mat from_file = fm::read_image(face("kit_harington_2.jpg"));
  const cv::Mat from_bytes = fm::decode_image(face_bytes("kit_harington_2.jpg"));
  EXPECT_EQ(from_file.cols, 630);
  EXPECT_EQ(from_file.rows, 374);
  EXPECT_TRUE(equal(from_file, from_bytes));
}

TEST(Decode, RgbaPngPhotosDropAlphaWithoutCompositing) {
  for (const auto& [name, width, height] :
       {std::tuple{"alex_lacamoire_3.png", 424, 394}, std::tuple{"lin_manuel_miranda.png", 704, 612}}) {
    const Bytes bytes = face_bytes(name);
    const cv::Mat rgb = fm::decode_image(bytes);
    EXPECT_EQ(rgb.type(), CV_8UC3) << name;
    EXPECT_EQ(rgb.cols, width) << name;
    EXPECT_EQ(rgb.rows, height) << name;
    const cv::Mat bgra = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    ASSERT_EQ(bgra.type(), CV_8UC4) << name;
    cv::Mat rgb_channels;
    cv::cvtColor(bgra, rgb_channels, cv::COLOR_BGRA2RGB);  // drops alpha, no blending
    EXPECT_TRUE(equal(rgb, rgb_channels)) << name;
  }
}

TEST(Decode, CmykJpegBecomesRgbCloseToTheRgbOriginal) {
  const cv::Mat cmyk = fm::decode_image(face_bytes("hugh_laurie_cmyk.jpg"));
  const cv::Mat rgb = fm::decode_image(face_bytes("hugh_laurie_1.jpg"));
  ASSERT_EQ(cmyk.type(), CV_8UC3);
  ASSERT_EQ(cmyk.size(), rgb.size());
  // Same photo re-encoded in CMYK (lossy, progressive): measured 7.0 on OpenCV 4.6 / libjpeg-turbo.
  const double diff = mean_abs_diff(cmyk, rgb);
  EXPECT_LT(diff, 12.0);
  // A channel swap or an uninverted Adobe CMYK would be far off.
  EXPECT_GT(mean_abs_diff(cmyk, bgr_to_rgb(rgb)), diff);
}

TEST(Decode, CorruptPhotoIsBadImage) {
  // Truncated mid-scan: libjpeg (and so cv::imdecode) would fill the missing rows with gray.
  expect_error(face_bytes("corrupt_broken.jpg"), fm::ErrorCode::bad_image, "truncated");
  const auto e = error_of([] { fm::read_image(face("corrupt_broken.jpg")); });
  EXPECT_EQ(e.code(), fm::ErrorCode::bad_image);
}

TEST(Decode, EveryPhotoInSharedFacesDecodesExceptTheCorruptOne) {
  for (const auto& entry : std::filesystem::directory_iterator(face("").parent_path())) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".jpg" && ext != ".png") continue;
    const std::string name = entry.path().filename().string();
    if (name == "corrupt_broken.jpg") continue;
    // Guards the truncation check against false alarms on real encoders' output.
    try {
      const cv::Mat rgb = fm::read_image(entry.path());
      EXPECT_EQ(rgb.type(), CV_8UC3) << name;
      EXPECT_GE(std::min(rgb.cols, rgb.rows), 16) << name;
    } catch (const fm::Error& e) {
      ADD_FAILURE() << name << ": " << e.what();
    }
  }
}

// ---- damaged and foreign bytes -----------------------------------------------------------------

TEST(Decode, EmptyInputIsBadImage) { expect_error({}, fm::ErrorCode::bad_image, "empty"); }

TEST(Decode, RandomBytesAreBadImage) {
  std::mt19937 rng(7);
  Bytes bytes(4096);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  bytes[0] = 0x00;  // keep the seed's luck from landing on a signature
  expect_error(bytes, fm::ErrorCode::bad_image, "not a JPEG, PNG, WebP, BMP");
}

TEST(Decode, TextAndHeicAreNamedInTheError) {
  const std::string html = "<!DOCTYPE html><html><body>Not found</body></html>";
  expect_error(Bytes(html.begin(), html.end()), fm::ErrorCode::bad_image, "starts with 3c 21 44 4f");
  Bytes heic = {0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0};
  expect_error(heic, fm::ErrorCode::bad_image, "HEIC");
}

TEST(Decode, TruncatedJpegIsBadImage) {
  const Bytes full = face_bytes("hugh_laurie_1.jpg");
  expect_error(Bytes(full.begin(), full.begin() + 1000), fm::ErrorCode::bad_image);
  expect_error(Bytes(full.begin(), full.begin() + full.size() / 2), fm::ErrorCode::bad_image, "truncated");
  expect_error(Bytes(full.begin(), full.end() - 2), fm::ErrorCode::bad_image,
               "truncated");  // just the EOI gone
  // Bytes after the end-of-image marker are common (camera trailers) and harmless.
  Bytes trailer = full;
  trailer.insert(trailer.end(), 100, 0x00);
  EXPECT_EQ(fm::decode_image(trailer).cols, 800);
}

TEST(Decode, TruncatedFilesOfEveryFormatAreBadImage) {
  const cv::Mat card = test_card(64, 48);
  for (const std::string ext : {".png", ".bmp", ".ppm", ".tiff", ".webp"}) {
    const Bytes full = encode(ext, card);
    ASSERT_EQ(fm::decode_image(full).cols, 64) << ext;
    for (const std::size_t keep : {full.size() / 2, full.size() * 9 / 10, std::size_t{20}}) {
      const auto e = error_of([&] { fm::decode_image(Bytes(full.begin(), full.begin() + keep)); });
      EXPECT_EQ(e.code(), fm::ErrorCode::bad_image) << ext << " cut to " << keep << ": " << e.what();
    }
  }
}

TEST(Decode, MutatedFilesNeverCrash) {
  // Random byte damage must end in an image or in bad_image, never in a crash or another error.
  std::mt19937 rng(12345);
  const cv::Mat card = test_card(48, 40);
  for (const std::string ext : {".jpg", ".png", ".webp", ".bmp", ".tiff"}) {
    const Bytes original = encode(ext, card);
    for (int round = 0; round < 60; ++round) {
      Bytes damaged = original;
      const int edits = 1 + static_cast<int>(rng() % 8);
      for (int i = 0; i < edits; ++i) damaged[rng() % damaged.size()] = static_cast<std::uint8_t>(rng());
      try {
        const cv::Mat rgb = fm::decode_image(damaged);
        EXPECT_EQ(rgb.type(), CV_8UC3);
      } catch (const fm::Error& e) {
        EXPECT_TRUE(e.code() == fm::ErrorCode::bad_image || e.code() == fm::ErrorCode::image_too_large)
            << ext << ": " << e.what();
      }
    }
  }
}

// ---- limits ------------------------------------------------------------------------------------

TEST(Decode, HugePngHeaderIsRefusedBeforeDecoding) {
  const Bytes png = png_header(100000, 100000);
  const auto start = std::chrono::steady_clock::now();
  expect_error(png, fm::ErrorCode::image_too_large,
               "image is 100000x100000 = 10000 megapixels, over the limit of 40 megapixels");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // Allocating 30 GB of pixels (or trying to) would take far longer than this generous bound.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 2000);
}

TEST(Decode, PixelLimitIsOursNotOpenCvs) {
  // 64 megapixels is under OpenCV's own limit (2^30), so only the header check can refuse it.
  expect_error(png_header(8000, 8000), fm::ErrorCode::image_too_large, "8000x8000 = 64 megapixels");
  fm::DecodeLimits small;
  small.max_pixels = 100 * 100;
  expect_error(encode(".png", test_card(101, 100)), fm::ErrorCode::image_too_large, "over the limit", small);
  EXPECT_EQ(fm::decode_image(encode(".png", test_card(100, 100)), small).cols, 100);
}

TEST(Decode, OpenCvSideLimitIsReportedAsTooLarge) {
  // Inside a raised pixel limit but wider than OpenCV decodes (2^20): too large, not "corrupt".
  fm::DecodeLimits generous;
  generous.max_pixels = 1'000'000'000;
  expect_error(png_header(2'000'000, 16), fm::ErrorCode::image_too_large, "decoder's limit", generous);
}

TEST(Decode, HugeJpegSofIsRefused) {
  Bytes jpeg = encode(".jpg", test_card(64, 48));
  const std::size_t sof = sof_offset(jpeg);
  for (std::size_t i : {sof + 1, sof + 3}) {  // height, width: big-endian 60000
    jpeg[i] = 60000 >> 8;
    jpeg[i + 1] = 60000 & 0xFF;
  }
  expect_error(jpeg, fm::ErrorCode::image_too_large, "60000x60000 = 3600 megapixels");
}

TEST(Decode, JpegSizeComesFromSofAfterAppSegments) {
  // The EXIF segment (APP1) comes first and must be skipped to find the frame header.
  const Bytes jpeg = with_exif(encode(".jpg", test_card(64, 48)), 1);
  const std::size_t sof = sof_offset(jpeg);
  Bytes wide = jpeg;
  wide[sof + 3] = 0xFF;  // width 65xxx: 65k * 48 = 3.1 MP, fine for the limit, so shrink the limit
  fm::DecodeLimits limits;
  limits.max_pixels = 1'000'000;
  expect_error(wide, fm::ErrorCode::image_too_large, "x48 = ", limits);
}

TEST(Decode, HugeHeadersOfOtherFormatsAreRefused) {
  // WebP VP8X canvas 30000x30000.
  Bytes webp = {'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E',  'B',  'P', 'V',  'P',  '8',
                'X', 10,  0,   0,   0,  0, 0, 0, 0,   0x2F, 0x75, 0,   0x2F, 0x75, 0};
  expect_error(webp, fm::ErrorCode::image_too_large, "30000x30000");
  // BMP (BITMAPINFOHEADER) 100000 x -100000 (top-down).
  Bytes bmp = {'B', 'M', 0, 0, 0, 0,    0,    0,    0, 0,    54,   0,    0,
               0,   40,  0, 0, 0, 0xA0, 0x86, 0x01, 0, 0x60, 0x79, 0xFE, 0xFF};
  bmp.resize(54, 0);
  expect_error(bmp, fm::ErrorCode::image_too_large, "100000x100000");
  const std::string ppm = "P6\n# made by hand\n100000 100000\n255\n";
  expect_error(Bytes(ppm.begin(), ppm.end()), fm::ErrorCode::image_too_large, "100000x100000");
  const std::string pgm = "P5 70000 70000 255 ";
  expect_error(Bytes(pgm.begin(), pgm.end()), fm::ErrorCode::image_too_large, "70000x70000");
  Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0};
  expect_error(gif, fm::ErrorCode::image_too_large, "65535x65535");
  // TIFF, big-endian, IFD0 with ImageWidth (LONG) and ImageLength (SHORT).
  Bytes tiff = {'M', 'M', 0, 0x2A, 0, 0, 0, 8, 0,    2,                              //
                1,   0,   0, 4,    0, 0, 0, 1, 0,    1,    0x86, 0xA0,               // width 100000
                1,   1,   0, 3,    0, 0, 0, 1, 0xEA, 0x60, 0,    0,    0, 0, 0, 0};  // length 60000
  expect_error(tiff, fm::ErrorCode::image_too_large, "100000x60000");
}

TEST(Decode, PgmCommentRightAfterANumberIsRefused) {
  // OpenCV swallows the '#' that ends "3336", skips no comment and reads 233335 as the height: it would
  // allocate 2.3 GB for an image whose header, read as netpbm does, is 3336x23 (found by fuzzing).
  const std::string hidden_height = std::string("P5\n3336#233335\n23\0 \0", 20);
  expect_error(Bytes(hidden_height.begin(), hidden_height.end()), fm::ErrorCode::bad_image,
               "no whitespace after a number");
  // OpenCV's PxM reader wants whitespace right after the magic; without it the data is not PxM.
  const std::string glued = "P520 16\n255\n" + std::string(320, '\x80');
  expect_error(Bytes(glued.begin(), glued.end()), fm::ErrorCode::bad_image, "is not a");
  // A comment on its own line, after whitespace, is read by both and decodes.
  std::string pgm = "P5\n# made by hand\n20 # width\n16\n255\n";
  pgm.append(20 * 16, '\x80');
  const cv::Mat rgb = fm::decode_image(Bytes(pgm.begin(), pgm.end()));
  EXPECT_EQ(rgb.size(), cv::Size(20, 16));
  EXPECT_EQ(rgb.at<cv::Vec3b>(5, 5), cv::Vec3b(0x80, 0x80, 0x80));
}

TEST(Decode, TinyImageIsBadImage) {
  expect_error(encode(".png", cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3))), fm::ErrorCode::bad_image,
               "too small");
  expect_error(encode(".png", test_card(200, 15)), fm::ErrorCode::bad_image, "200x15");
  EXPECT_EQ(fm::decode_image(encode(".png", test_card(16, 16))).rows, 16);
}

TEST(Decode, ByteLimitComesFirst) {
  const Bytes bytes = face_bytes("obama_1.jpg");
  fm::DecodeLimits limits;
  limits.max_bytes = bytes.size() - 1;
  expect_error(bytes, fm::ErrorCode::image_too_large, "over the limit", limits);
  // Even garbage is refused for its size before anyone looks at it.
  expect_error(Bytes(limits.max_bytes + 1, 0), fm::ErrorCode::image_too_large, "over the limit", limits);
  const auto e = error_of([&] { fm::read_image(face("obama_1.jpg"), limits); });
  EXPECT_EQ(e.code(), fm::ErrorCode::image_too_large) << e.what();
  limits.max_bytes = bytes.size();
  EXPECT_EQ(fm::read_image(face("obama_1.jpg"), limits).cols, 910);
}

TEST(Decode, ReadImageErrors) {
  const auto missing = error_of([] { fm::read_image("/nonexistent/dir/photo.jpg"); });
  EXPECT_EQ(missing.code(), fm::ErrorCode::io_error);
  EXPECT_NE(std::string(missing.what()).find("/nonexistent/dir/photo.jpg"), std::string::npos)
      << missing.what();
  const auto dir = error_of([] { fm::read_image(fm::testing::shared_dir()); });
  EXPECT_EQ(dir.code(), fm::ErrorCode::io_error) << dir.what();
}

// ---- conversions -------------------------------------------------------------------------------

TEST(Decode, SixteenBitPngBecomesEightBit) {
  cv::Mat wide(32, 32, CV_16UC3, cv::Scalar(0x80FF, 0x8000, 0xFFFF));  // BGR
  const cv::Mat rgb = fm::decode_image(encode(".png", wide));
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb_at(rgb, 5, 5), cv::Vec3b(255, 128, 128));  // high bytes, R first
}

TEST(Decode, GrayPngBecomesThreeEqualChannels) {
  cv::Mat gray(20, 30, CV_8UC1);
  for (int y = 0; y < gray.rows; ++y)
    for (int x = 0; x < gray.cols; ++x) gray.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(x * 8 + y);
  const cv::Mat rgb = fm::decode_image(encode(".png", gray));
  ASSERT_EQ(rgb.type(), CV_8UC3);
  cv::Mat expected;
  cv::cvtColor(gray, expected, cv::COLOR_GRAY2RGB);
  EXPECT_TRUE(equal(rgb, expected));
  // 16-bit gray too.
  cv::Mat gray16(20, 30, CV_16UC1, cv::Scalar(0x1234));
  EXPECT_EQ(rgb_at(fm::decode_image(encode(".png", gray16)), 3, 3), cv::Vec3b(0x12, 0x12, 0x12));
}

TEST(Decode, RgbaPngKeepsColourUnderTransparentPixels) {
  cv::Mat bgra(20, 20, CV_8UC4, cv::Scalar(10, 20, 30, 0));  // fully transparent
  bgra(cv::Rect(0, 0, 10, 20)).setTo(cv::Scalar(200, 100, 50, 128));
  const cv::Mat rgb = fm::decode_image(encode(".png", bgra));
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb_at(rgb, 15, 5), cv::Vec3b(30, 20, 10));
  EXPECT_EQ(rgb_at(rgb, 5, 5), cv::Vec3b(50, 100, 200));
}

TEST(Decode, LosslessFormatsRoundTrip) {
  const cv::Mat card = test_card(64, 48);
  const cv::Mat expected = bgr_to_rgb(card);
  for (const std::string ext : {".png", ".bmp", ".ppm", ".tiff"}) {
    const cv::Mat rgb = fm::decode_image(encode(ext, card));
    EXPECT_TRUE(equal(rgb, expected)) << ext;
  }
  // WebP: lossless (VP8L, quality > 100) is exact; lossy (VP8) is close.
  EXPECT_TRUE(equal(fm::decode_image(encode(".webp", card, {cv::IMWRITE_WEBP_QUALITY, 101})), expected));
  EXPECT_LT(mean_abs_diff(fm::decode_image(encode(".webp", card, {cv::IMWRITE_WEBP_QUALITY, 90})), expected),
            4.0);
  cv::Mat gray;
  cv::cvtColor(card, gray, cv::COLOR_BGR2GRAY);
  const cv::Mat from_pgm = fm::decode_image(encode(".pgm", gray));
  EXPECT_EQ(rgb_at(from_pgm, 40, 40), cv::Vec3b::all(gray.at<std::uint8_t>(40, 40)));
}

TEST(Decode, DicomSignatureInsideAnotherFormatIsRefused) {
  // Were the format's own reader to decline, cv::imdecode would pass such data on to GDCM, which aborts
  // on malformed input (fuzz/regressions/decode_image/gif-with-dicom-signature: a GIF, which the linked
  // OpenCV has no reader for).
  Bytes png = encode(".png", test_card(64, 48));
  ASSERT_GT(png.size(), 132u);
  std::copy_n("DICM", 4, png.begin() + 128);
  expect_error(png, fm::ErrorCode::bad_image, "DICOM");
  Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 16, 0, 16, 0};
  gif.resize(140, 0);
  std::copy_n("DICM", 4, gif.begin() + 128);
  expect_error(gif, fm::ErrorCode::bad_image, "GIF");
}

TEST(Decode, GifIsRefusedAsUnsupported) {
  // A complete 16x16 single-colour GIF (LZW min code size 2).
  Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 16, 0, 16, 0, 0x80, 0, 0, 255,  0,    0, 0,  0,
               0,   ',', 0,   0,   0,   0,   16, 0, 16, 0, 0,    2, 2, 0x44, 0x01, 0, ';'};
  expect_error(gif, fm::ErrorCode::bad_image, "GIF");
}

TEST(Decode, ExifOrientationIsApplied) {
  const Bytes plain = encode(".jpg", test_card(80, 40), {cv::IMWRITE_JPEG_QUALITY, 95});
  const cv::Mat upright = fm::decode_image(plain);
  ASSERT_EQ(upright.cols, 80);
  // Orientation 1: as stored.
  EXPECT_EQ(fm::decode_image(with_exif(plain, 1)).cols, 80);
  // 6: rotate 90 degrees clockwise to display, so the stored top-left (blue) lands top-right.
  for (const bool big_endian : {false, true}) {
    const cv::Mat cw = fm::decode_image(with_exif(plain, 6, big_endian));
    ASSERT_EQ(cw.cols, 40);
    ASSERT_EQ(cw.rows, 80);
    cv::Mat expected;
    cv::rotate(upright, expected, cv::ROTATE_90_CLOCKWISE);
    EXPECT_TRUE(equal(cw, expected));
    EXPECT_GT(rgb_at(cw, 35, 5)[2], 200);  // blue
  }
  // 8: 90 degrees counter-clockwise; the stored top-right (green) lands top-left.
  const cv::Mat ccw = fm::decode_image(with_exif(plain, 8));
  ASSERT_EQ(ccw.cols, 40);
  EXPECT_GT(rgb_at(ccw, 5, 5)[1], 200);
  // 3: 180 degrees, size unchanged; green ends bottom-left.
  const cv::Mat flipped = fm::decode_image(with_exif(plain, 3));
  ASSERT_EQ(flipped.cols, 80);
  EXPECT_GT(rgb_at(flipped, 5, 35)[1], 200);
}

// ---- reduced decoding --------------------------------------------------------------------------

TEST(Decode, ReducedScaleKeepsTheLongerSideAtLeastTheMinimum) {
  const Bytes big = face_bytes("shea_whigham.jpg");  // 2048x1991
  EXPECT_EQ(fm::reduced_decode_scale(big, 0), 1);
  EXPECT_EQ(fm::reduced_decode_scale(big, 640), 2);  // 1024 >= 640 > 512
  EXPECT_EQ(fm::reduced_decode_scale(big, 512), 4);
  EXPECT_EQ(fm::reduced_decode_scale(big, 513), 2);
  EXPECT_EQ(fm::reduced_decode_scale(big, 100), 8);
  EXPECT_EQ(fm::reduced_decode_scale(big, 2048), 1);
  EXPECT_EQ(fm::reduced_decode_scale(face_bytes("alex_lacamoire_3.png"), 16), 1);  // only JPEGs
  EXPECT_EQ(fm::reduced_decode_scale(Bytes{1, 2, 3}, 640), 1);
  // A strip keeps at least 64 pixels across: 3000x200 stops at 1/2 (100 pixels), not 1/4 (50).
  EXPECT_EQ(fm::reduced_decode_scale(encode(".jpg", test_card(3000, 200)), 100), 2);
}

TEST(Decode, ReducedJpegIsTheFullImageShrunkWithItsFullSize) {
  const Bytes bytes = face_bytes("shea_whigham.jpg");
  const cv::Mat full = fm::decode_image(bytes);
  for (const int scale : {1, 2, 4, 8}) {
    SCOPED_TRACE(scale);
    const auto reduced = fm::decode_image_scaled(bytes, scale);
    EXPECT_EQ(reduced.scale, scale);
    EXPECT_EQ(reduced.original, full.size());
    ASSERT_EQ(reduced.rgb.type(), CV_8UC3);
    EXPECT_EQ(reduced.rgb.cols, (full.cols + scale - 1) / scale);
    EXPECT_EQ(reduced.rgb.rows, (full.rows + scale - 1) / scale);
    cv::Mat shrunk;
    cv::resize(full, shrunk, reduced.rgb.size(), 0, 0, cv::INTER_AREA);
    // The same picture in RGB order (a BGR mix-up or a shifted crop would be tens of levels off).
    const double mean_abs_diff =
        cv::norm(reduced.rgb, shrunk, cv::NORM_L1) / static_cast<double>(shrunk.total() * 3);
    EXPECT_LT(mean_abs_diff, 3.0);
  }
}

TEST(Decode, ReducedJpegAppliesExifOrientation) {
  const Bytes plain = encode(".jpg", test_card(160, 80), {cv::IMWRITE_JPEG_QUALITY, 95});
  const auto rotated = fm::decode_image_scaled(with_exif(plain, 6), 2);
  EXPECT_EQ(rotated.original, cv::Size(80, 160));
  ASSERT_EQ(rotated.rgb.size(), cv::Size(40, 80));
  EXPECT_GT(rgb_at(rotated.rgb, 35, 5)[2], 200);  // the stored top-left (blue) lands top-right
}

TEST(Decode, ReducedDecodingIsRefusedWhereItCannotApply) {
  EXPECT_EQ(error_of([] { fm::decode_image_scaled(face_bytes("alex_lacamoire_3.png"), 2); }).code(),
            fm::ErrorCode::invalid_argument);
  EXPECT_EQ(error_of([] { fm::decode_image_scaled(face_bytes("obama_1.jpg"), 3); }).code(),
            fm::ErrorCode::invalid_argument);
  // Limits hold for the full-size image, whatever the scale.
  fm::DecodeLimits limits;
  limits.max_pixels = 4'000'000;
  EXPECT_EQ(error_of([&] { fm::decode_image_scaled(face_bytes("shea_whigham.jpg"), 8, limits); }).code(),
            fm::ErrorCode::image_too_large);
}

TEST(Decode, PngExifOrientationIsAppliedToo) {
  // OpenCV 4.6 reads the PNG eXIf chunk as well (browsers do too): orientation 6 turns 100x40 into 40x100.
  const Bytes png = encode(".png", test_card(100, 40));
  const Bytes exif = exif_tiff(6, false);
  Bytes chunk;
  put_be32(chunk, static_cast<std::uint32_t>(exif.size()));
  const std::size_t type_at = chunk.size();
  chunk.insert(chunk.end(), {'e', 'X', 'I', 'f'});
  chunk.insert(chunk.end(), exif.begin(), exif.end());
  put_be32(chunk, crc32(chunk.data() + type_at, chunk.size() - type_at));
  Bytes rotated(png.begin(), png.begin() + 33);  // signature + IHDR
  rotated.insert(rotated.end(), chunk.begin(), chunk.end());
  rotated.insert(rotated.end(), png.begin() + 33, png.end());
  const cv::Mat rgb = fm::decode_image(rotated);
  EXPECT_EQ(rgb.cols, 40);
  EXPECT_EQ(rgb.rows, 100);
  EXPECT_GT(rgb_at(rgb, 35, 5)[2], 200);  // stored top-left blue, now top-right
}

// Boxes found in a turned photo must come back onto the same pixels of the photo as it arrived.
TEST(QuarterTurn, BoxesOfATurnedImageComeBackOntoTheSamePixels) {
  cv::Mat image(5, 7, CV_8UC3, cv::Scalar::all(0));
  image.at<cv::Vec3b>(3, 1) = cv::Vec3b(255, 255, 255);  // (x 1, y 3)
  for (int turns = 0; turns < 4; ++turns) {
    const cv::Mat turned = fm::turn_clockwise(image, turns);
    EXPECT_EQ(turned.cols, turns % 2 ? image.rows : image.cols);
    cv::Point lit;
    cv::Mat grey;
    cv::extractChannel(turned, grey, 0);
    cv::minMaxLoc(grey, nullptr, nullptr, nullptr, &lit);
    const cv::Rect2d back = fm::unturn_box(cv::Rect2d(lit.x, lit.y, 1, 1), turns, image.size());
    EXPECT_EQ(back, cv::Rect2d(1, 3, 1, 1)) << "turns " << turns;
  }
  EXPECT_THROW(fm::turn_clockwise(image, 4), fm::Error);
}
