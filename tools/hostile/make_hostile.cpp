// Writes the hostile-input set for `facematch serve` (issue 6) into a folder: one request body per file
// and manifest.jsonl, one line per request with what the server must answer:
//   {"name", "path", "content_type", "body", "status", "code"?, "width"?, "height"?, "min_faces"?}
// tests/test_hostile.cpp posts every line to a server started with kServerFlags below and asserts the
// answer, the time taken and the server's memory. Photos come from ../shared/faces at run time (never
// from git). With --seeds DIR it also writes the small fuzz seed corpora (fuzz/corpus/<target>).
//
//   facematch_make_hostile --out DIR [--faces DIR] [--seeds FUZZ_CORPUS_DIR]
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>
#include <zlib.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "test_server_harness.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using facematch::testing::base64;
using Bytes = std::string;

// The flags the hostile tests start the server with; the expectations below assume them.
constexpr const char* kServerFlags = "--workers 2 --queue 8 --max-body-mb 8 --max-megapixels 1";
constexpr double kMaxBodyMb = 8, kMaxMegapixels = 1;

Bytes encode(const cv::Mat& bgr, const std::string& ext, const std::vector<int>& params = {}) {
  std::vector<std::uint8_t> out;
  if (!cv::imencode(ext, bgr, out, params)) throw std::runtime_error("cannot encode " + ext);
  return Bytes(out.begin(), out.end());
}

void put_be32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
}
void put_be16(Bytes& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<char>((v >> 8) & 0xFF);
  b[at + 1] = static_cast<char>(v & 0xFF);
}
void append_le16(Bytes& b, std::uint32_t v) {
  b += static_cast<char>(v & 0xFF);
  b += static_cast<char>((v >> 8) & 0xFF);
}
void append_le32(Bytes& b, std::uint32_t v) {
  append_le16(b, v & 0xFFFF);
  append_le16(b, v >> 16);
}
void append_be32(Bytes& b, std::uint32_t v) {
  b.resize(b.size() + 4);
  put_be32(b, b.size() - 4, v);
}

// A PNG chunk with its CRC, so libpng gets as far as the header claims.
void png_chunk(Bytes& out, const std::string& type, const Bytes& data) {
  append_be32(out, static_cast<std::uint32_t>(data.size()));
  const Bytes body = type + data;
  out += body;
  append_be32(out, static_cast<std::uint32_t>(
                       crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

// A valid PNG whose IHDR claims width x height, with an IDAT of `rows` zero rows (a decompression bomb
// when the claim is large: a few KB that would inflate to gigabytes).
Bytes png_claiming(std::uint32_t width, std::uint32_t height, std::uint32_t rows) {
  Bytes out = "\x89PNG\r\n\x1a\n";
  Bytes ihdr(13, '\0');
  put_be32(ihdr, 0, width);
  put_be32(ihdr, 4, height);
  ihdr[8] = 8;  // bit depth
  ihdr[9] = 2;  // RGB
  png_chunk(out, "IHDR", ihdr);
  const std::size_t raw_size = static_cast<std::size_t>(rows) * (1 + 3ull * std::min<std::uint32_t>(width, 4096));
  const Bytes raw(raw_size, '\0');
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  Bytes packed(packed_size, '\0');
  compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(raw.data()),
            static_cast<uLong>(raw.size()), 9);
  packed.resize(packed_size);
  png_chunk(out, "IDAT", packed);
  png_chunk(out, "IEND", "");
  return out;
}

// libjpeg directly: OpenCV cannot write CMYK. libjpeg adds the Adobe marker, as Photoshop does.
Bytes cmyk_jpeg(const cv::Mat& bgr) {
  jpeg_compress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* mem = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &mem, &size);
  c.image_width = static_cast<JDIMENSION>(bgr.cols);
  c.image_height = static_cast<JDIMENSION>(bgr.rows);
  c.input_components = 4;
  c.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  jpeg_start_compress(&c, TRUE);
  std::vector<JSAMPLE> row(static_cast<std::size_t>(bgr.cols) * 4);
  while (c.next_scanline < c.image_height) {
    const auto* p = bgr.ptr<cv::Vec3b>(static_cast<int>(c.next_scanline));
    for (int x = 0; x < bgr.cols; ++x) {
      // Inverted CMYK with K = 0 (Adobe convention): stored value = 255 - ink = the RGB value.
      row[4 * x + 0] = p[x][2];
      row[4 * x + 1] = p[x][1];
      row[4 * x + 2] = p[x][0];
      row[4 * x + 3] = 255;
    }
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&c, rows, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  Bytes out(reinterpret_cast<const char*>(mem), size);
  std::free(mem);
  return out;
}

// An APP1 Exif segment with one Orientation entry, inserted right after SOI.
Bytes with_exif_orientation(const Bytes& jpeg, int orientation) {
  Bytes tiff = std::string("MM\0*", 4);
  append_be32(tiff, 8);
  tiff += std::string("\0\1", 2);                                  // one entry
  tiff += std::string("\x01\x12\0\x03\0\0\0\x01", 8);              // Orientation, SHORT, count 1
  tiff += static_cast<char>(0);
  tiff += static_cast<char>(orientation);
  tiff += std::string("\0\0", 2);
  append_be32(tiff, 0);  // no next IFD
  Bytes app1 = std::string("\xFF\xE1\0\0Exif\0\0", 10) + tiff;
  put_be16(app1, 2, static_cast<std::uint32_t>(app1.size() - 2));
  return jpeg.substr(0, 2) + app1 + jpeg.substr(2);
}

// Sets the first SOFn's height and width.
Bytes jpeg_claiming(Bytes jpeg, std::uint32_t width, std::uint32_t height) {
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    const auto m = static_cast<unsigned char>(jpeg[i + 1]);
    if (static_cast<unsigned char>(jpeg[i]) == 0xFF && (m == 0xC0 || m == 0xC2)) {
      put_be16(jpeg, i + 5, height);
      put_be16(jpeg, i + 7, width);
      return jpeg;
    }
  }
  throw std::runtime_error("no SOF in the JPEG");
}

// GIF89a, 2-colour palette, NETSCAPE2.0 looping, `frames` frames of width x height.
Bytes animated_gif(int width, int height, int frames) {
  Bytes g = "GIF89a";
  append_le16(g, static_cast<std::uint32_t>(width));
  append_le16(g, static_cast<std::uint32_t>(height));
  g += std::string("\x80\0\0", 3);                          // global table of 2 colours
  g += std::string("\0\0\0\xff\xff\xff", 6);
  g += std::string("\x21\xff\x0bNETSCAPE2.0\x03\x01\0\0\0", 19);
  for (int f = 0; f < frames; ++f) {
    g += std::string("\x21\xf9\x04\0\x0a\0\0\0", 8);        // 100 ms delay
    g += ',';
    append_le16(g, 0);
    append_le16(g, 0);
    append_le16(g, static_cast<std::uint32_t>(width));
    append_le16(g, static_cast<std::uint32_t>(height));
    g += '\0';
    // LZW min code size 2, then one sub-block: clear code, a few pixels, end code (valid but short).
    g += std::string("\x02\x02\x44\x01\0", 5);
  }
  g += ';';
  return g;
}

// RIFF/WEBP with VP8X, ANIM and one empty ANMF: what animated WebP encoders write (or, without the
// animation flag, an extended header claiming width x height).
Bytes webp_vp8x(std::uint32_t width, std::uint32_t height, bool animated) {
  Bytes chunks = "VP8X";
  append_le32(chunks, 10);
  chunks += static_cast<char>(animated ? 0x02 : 0x00);
  chunks += std::string("\0\0\0", 3);
  for (std::uint32_t v : {width - 1, height - 1}) {
    chunks += static_cast<char>(v & 0xFF);
    chunks += static_cast<char>((v >> 8) & 0xFF);
    chunks += static_cast<char>((v >> 16) & 0xFF);
  }
  chunks += "ANIM";
  append_le32(chunks, 6);
  chunks += std::string(6, '\0');
  chunks += "ANMF";
  append_le32(chunks, 16);
  chunks += std::string(16, '\0');
  Bytes out = "RIFF";
  append_le32(out, static_cast<std::uint32_t>(chunks.size() + 4));
  return out + "WEBP" + chunks;
}

Bytes bmp_claiming(std::int32_t width, std::int32_t height) {
  Bytes b = "BM";
  append_le32(b, 54);
  append_le32(b, 0);
  append_le32(b, 54);
  append_le32(b, 40);
  append_le32(b, static_cast<std::uint32_t>(width));
  append_le32(b, static_cast<std::uint32_t>(height));
  append_le16(b, 1);
  append_le16(b, 24);
  b += Bytes(24, '\0');
  return b;
}

Bytes tiff_claiming(std::uint32_t width, std::uint32_t height) {
  Bytes t = std::string("MM\0*", 4);
  append_be32(t, 8);
  t += std::string("\0\2", 2);
  for (auto [tag, v] : {std::pair{256u, width}, {257u, height}}) {
    t += static_cast<char>(tag >> 8);
    t += static_cast<char>(tag & 0xFF);
    t += std::string("\0\x04\0\0\0\x01", 6);  // LONG, count 1
    append_be32(t, v);
  }
  append_be32(t, 0);
  return t;
}

Bytes random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n, '\0');
  for (auto& c : b) c = static_cast<char>(rng() & 0xFF);
  return b;
}

std::string multipart(const std::string& boundary, const std::vector<std::pair<std::string, Bytes>>& files,
                      const std::vector<std::pair<std::string, std::string>>& fields = {}) {
  std::string body;
  for (const auto& [name, content] : files)
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + name +
            ".bin\"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + "\r\n";
  for (const auto& [name, value] : fields)
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  return body + "--" + boundary + "--\r\n";
}

// Nested list [H][W][3] of numbers as the original client sends it, with `pixel` as every value's text.
std::string legacy_rows(int height, int width, const std::string& pixel = "[1,2,3]") {
  std::string row = "[";
  for (int x = 0; x < width; ++x) row += (x ? "," : "") + pixel;
  row += "]";
  std::string rows = "[";
  rows.reserve(static_cast<std::size_t>(height) * (row.size() + 1) + 2);
  for (int y = 0; y < height; ++y) (rows += (y ? "," : "")) += row;
  return rows + "]";
}

class Writer {
 public:
  explicit Writer(fs::path dir) : dir_(std::move(dir)), manifest_(dir_ / "manifest.jsonl") {}

  // One request; `expect` holds status, code and the optional checks.
  void add(const std::string& name, const std::string& path, const std::string& content_type, const Bytes& body,
           json expect) {
    const std::string file = name + ".body";
    std::ofstream(dir_ / file, std::ios::binary) << body;
    expect["name"] = name;
    expect["path"] = path;
    expect["content_type"] = content_type;
    expect["body"] = file;
    manifest_ << expect.dump() << "\n";
  }

  // An image sent three ways: JSON /verify as img1 (img2 a good face), JSON /detect, multipart /detect.
  void image(const std::string& name, const Bytes& image, json expect, const Bytes& good_face) {
    const int status = expect["status"];
    if (status == 200) {
      add(name + "-detect-json", "/detect", "application/json", json{{"img", base64(image)}}.dump(), expect);
    } else {
      add(name + "-verify-json", "/verify", "application/json",
          json{{"img1", base64(image)}, {"img2", base64(good_face)}}.dump(), expect);
      add(name + "-detect-json", "/detect", "application/json", json{{"img", base64(image)}}.dump(), expect);
    }
    add(name + "-detect-multipart", "/detect", "multipart/form-data; boundary=hostileBoundary",
        multipart("hostileBoundary", {{"img", image}}), expect);
  }

 private:
  fs::path dir_;
  std::ofstream manifest_;
};

json fails(int status, const std::string& code) { return {{"status", status}, {"code", code}}; }
json detects(int width, int height, int min_faces, int max_faces = 1000) {
  return {{"status", 200}, {"width", width}, {"height", height}, {"min_faces", min_faces}, {"max_faces", max_faces}};
}

void write_file(const fs::path& path, const Bytes& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// Small real inputs for the fuzzers: every decodable format and variant, and trimmed real requests.
void write_seeds(const fs::path& root, const cv::Mat& face) {
  cv::Mat small;
  cv::resize(face, small, cv::Size(32, 24), 0, 0, cv::INTER_AREA);
  const fs::path d = root / "decode_image", j = root / "request_json", m = root / "multipart";
  for (const auto& p : {d, j, m}) fs::create_directories(p);
  const Bytes jpg = encode(small, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 50});
  write_file(d / "baseline.jpg", jpg);
  write_file(d / "progressive.jpg", encode(small, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  write_file(d / "exif6.jpg", with_exif_orientation(jpg, 6));
  write_file(d / "cmyk.jpg", cmyk_jpeg(small));
  write_file(d / "rgb.png", encode(small, ".png"));
  cv::Mat gray, bgra, deep;
  cv::cvtColor(small, gray, cv::COLOR_BGR2GRAY);
  cv::cvtColor(small, bgra, cv::COLOR_BGR2BGRA);
  small.convertTo(deep, CV_16UC3, 257);
  write_file(d / "gray.png", encode(gray, ".png"));
  write_file(d / "alpha.png", encode(bgra, ".png"));
  write_file(d / "16bit.png", encode(deep, ".png"));
  write_file(d / "lossy.webp", encode(small, ".webp", {cv::IMWRITE_WEBP_QUALITY, 50}));
  write_file(d / "lossless.webp", encode(small, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}));
  write_file(d / "image.bmp", encode(small, ".bmp"));
  write_file(d / "image.ppm", encode(small, ".ppm"));
  write_file(d / "image.pgm", encode(gray, ".pgm"));
  write_file(d / "image.tiff", encode(small, ".tiff"));
  write_file(d / "animated.gif", animated_gif(32, 24, 2));
  write_file(d / "animated.webp", webp_vp8x(32, 24, true));
  write_file(d / "bomb.png", png_claiming(100000, 100000, 2));

  const Bytes png = encode(small, ".png");
  const std::string b64 = base64(jpg);
  write_file(j / "verify", "\x00" + json{{"img1", b64}, {"img2", "data:image/png;base64," + base64(png)},
                                          {"threshold", 0.5}, {"detector", "tiny"}, {"align", "faceapi"},
                                          {"face_policy", "best"}}.dump());
  write_file(j / "detect", "\x01" + json{{"img", b64}}.dump());
  write_file(j / "embed", "\x02" + json{{"images", {b64, base64(png)}}}.dump());
  write_file(j / "legacy3d", "\x03" + json{{"truth", json::parse(legacy_rows(16, 16))},
                                           {"check", json::parse(legacy_rows(16, 16, "[12.0,200.5,0]"))}}.dump());
  write_file(j / "legacy4d", "\x03{\"truth\":[" + legacy_rows(16, 16) + "],\"check\":[" + legacy_rows(16, 16) + "]}");
  static constexpr char options[] = "\x04" "0.55\0ssd\0similarity\0largest";
  write_file(j / "options", std::string(options, sizeof options - 1));

  const std::string b = "fuzzBoundary";
  write_file(m / "verify",
             "POST /verify HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=" + b +
                 "\r\nContent-Length: " +
                 std::to_string(multipart(b, {{"img1", jpg}, {"img2", png}}, {{"threshold", "0.5"}}).size()) +
                 "\r\n\r\n" + multipart(b, {{"img1", jpg}, {"img2", png}}, {{"threshold", "0.5"}}));
  const std::string chunked_body = multipart(b, {{"img1", "abc"}, {"img2", "def"}}, {{"detector", "tiny"}});
  char size_hex[16];
  std::snprintf(size_hex, sizeof size_hex, "%zx", chunked_body.size());
  write_file(m / "chunked", "POST /verify HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=" +
                                b + "\r\nTransfer-Encoding: chunked\r\n\r\n" + size_hex + "\r\n" + chunked_body +
                                "\r\n0\r\n\r\n");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    fs::path out, faces = facematch::testing::shared_dir() / "faces", seeds;
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string flag = argv[i];
      if (flag == "--out") out = argv[i + 1];
      else if (flag == "--faces") faces = argv[i + 1];
      else if (flag == "--seeds") seeds = argv[i + 1];
      else throw std::runtime_error("unknown flag " + flag);
    }
    if (out.empty() && seeds.empty()) throw std::runtime_error("usage: facematch_make_hostile --out DIR [--faces DIR] [--seeds DIR]");
    const fs::path photo = faces / "obama_1.jpg";
    facematch::testing::require_file(photo, "../shared/faces");
    cv::Mat face = cv::imread(photo.string(), cv::IMREAD_COLOR);
    // About 0.2 MP: under the hostile server's 1 MP limit, large enough for the detector.
    cv::resize(face, face, cv::Size(), 480.0 / face.rows, 480.0 / face.rows, cv::INTER_AREA);
    const int w = face.cols, h = face.rows;
    if (!seeds.empty()) write_seeds(seeds, face);
    if (out.empty()) return 0;

    fs::create_directories(out);
    Writer set(out);
    const Bytes jpg = encode(face, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
    const Bytes png = encode(face, ".png");
    std::ofstream(out / "server_flags.txt") << kServerFlags << "\n";

    // --- images (each through /verify, /detect and multipart) ---------------------------------------
    set.image("control-jpeg", jpg, detects(w, h, 1), jpg);
    set.image("truncated-jpeg", jpg.substr(0, jpg.size() / 2), fails(400, "bad_image"), jpg);
    set.image("truncated-png", png.substr(0, png.size() / 2), fails(400, "bad_image"), jpg);
    set.image("header-only-jpeg", jpg.substr(0, 200), fails(400, "bad_image"), jpg);
    set.image("garbage", random_bytes(5000, 1), fails(400, "bad_image"), jpg);
    set.image("jpeg-magic-then-zeros", "\xFF\xD8\xFF" + Bytes(5000, '\0'), fails(400, "bad_image"), jpg);
    set.image("png-bomb-100000x100000", png_claiming(100000, 100000, 64), fails(413, "image_too_large"), jpg);
    set.image("png-bomb-4gpx", png_claiming(0xFFFFFFFFu, 0xFFFFFFFFu, 1), fails(413, "image_too_large"), jpg);
    // A real bomb under the byte limit: 2000x2000 of zeros is a few KB but 2 MP, over the 1 MP limit.
    set.image("png-bomb-zeros-2000x2000", png_claiming(2000, 2000, 2000), fails(413, "image_too_large"), jpg);
    set.image("png-zero-size", png_claiming(0, 0, 0), fails(400, "bad_image"), jpg);
    set.image("jpeg-claims-65535x65535", jpeg_claiming(jpg, 65535, 65535), fails(413, "image_too_large"), jpg);
    set.image("jpeg-claims-0x0", jpeg_claiming(jpg, 0, 0), fails(400, "bad_image"), jpg);
    set.image("gif-claims-65535x65535", animated_gif(65535, 65535, 1), fails(413, "image_too_large"), jpg);
    set.image("webp-claims-16384x16384", webp_vp8x(16384, 16384, false), fails(413, "image_too_large"), jpg);
    set.image("bmp-claims-100000x100000", bmp_claiming(100000, 100000), fails(413, "image_too_large"), jpg);
    set.image("bmp-negative-width", bmp_claiming(-64, 64), fails(400, "bad_image"), jpg);
    set.image("bmp-int-min-height", bmp_claiming(64, INT32_MIN), fails(400, "bad_image"), jpg);
    set.image("tiff-claims-100000x100000", tiff_claiming(100000, 100000), fails(413, "image_too_large"), jpg);
    set.image("ppm-claims-100000x100000", "P6\n100000 100000\n255\n" + Bytes(64, '\0'), fails(413, "image_too_large"), jpg);
    set.image("ppm-overflowing-size", "P6\n99999999999999999999 1\n255\n" + Bytes(64, '\0'), fails(400, "bad_image"), jpg);
    set.image("animated-gif", animated_gif(64, 64, 3), fails(400, "bad_image"), jpg);
    set.image("animated-webp", webp_vp8x(64, 64, true), fails(400, "bad_image"), jpg);
    set.image("heic-brand", std::string("\0\0\0\x18" "ftypheic\0\0\0\0", 16) + Bytes(64, '\0'), fails(400, "bad_image"), jpg);
    {
      cv::Mat one(1, 1, CV_8UC3, cv::Scalar(10, 20, 30));
      set.image("1x1-png", encode(one, ".png"), fails(400, "bad_image"), jpg);
      set.image("1x1-jpeg", encode(one, ".jpg"), fails(400, "bad_image"), jpg);
      cv::Mat thin;
      cv::resize(face, thin, cv::Size(w, 1));
      set.image("wx1-png", encode(thin, ".png"), fails(400, "bad_image"), jpg);
    }
    {
      cv::Mat noise(h, w, CV_8UC3);
      cv::RNG rng(6);
      rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
      const Bytes noise_png = encode(noise, ".png");
      set.add("noise-verify", "/verify", "application/json",
              json{{"img1", base64(noise_png)}, {"img2", base64(jpg)}}.dump(), fails(422, "no_face"));
      set.add("noise-detect", "/detect", "application/json", json{{"img", base64(noise_png)}}.dump(), detects(w, h, 0, 0));
      set.add("noise-jpeg-detect", "/detect", "application/json",
              json{{"img", base64(encode(noise, ".jpg"))}}.dump(), detects(w, h, 0, 0));
    }
    // Variants the decoder must handle: the face must still be found.
    set.image("progressive-jpeg", encode(face, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}), detects(w, h, 1), jpg);
    set.image("cmyk-jpeg", cmyk_jpeg(face), detects(w, h, 1), jpg);
    {
      cv::Mat deep, gray, bgra;
      face.convertTo(deep, CV_16UC3, 257);
      set.image("16bit-png", encode(deep, ".png"), detects(w, h, 1), jpg);
      cv::cvtColor(face, gray, cv::COLOR_BGR2GRAY);
      set.image("gray-png", encode(gray, ".png"), detects(w, h, 1), jpg);
      cv::cvtColor(face, bgra, cv::COLOR_BGR2BGRA);
      set.image("alpha-png", encode(bgra, ".png"), detects(w, h, 1), jpg);
    }
    set.image("webp", encode(face, ".webp"), detects(w, h, 1), jpg);
    // Stored turned the other way, so only a decoder that applies the orientation gets the upright w x h
    // face back (one that ignores it gets h x w, and a sideways face).
    for (const auto& [orientation, stored_turn] : {std::pair{3, cv::ROTATE_180}, {6, cv::ROTATE_90_COUNTERCLOCKWISE},
                                                   {8, cv::ROTATE_90_CLOCKWISE}}) {
      cv::Mat stored;
      cv::rotate(face, stored, stored_turn);
      set.image("exif-orientation-" + std::to_string(orientation),
                with_exif_orientation(encode(stored, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90}), orientation),
                detects(w, h, 1), jpg);
    }

    // --- bodies ---------------------------------------------------------------------------------
    const std::string good = base64(jpg);
    const json verify_ok = {{"img1", good}, {"img2", good}};
    const std::string verify_text = verify_ok.dump();
    set.add("empty-json-body", "/verify", "application/json", "", fails(400, "bad_request"));
    set.add("empty-object", "/verify", "application/json", "{}", fails(400, "bad_request"));
    set.add("truncated-json", "/verify", "application/json", verify_text.substr(0, verify_text.size() / 2),
            fails(400, "bad_request"));
    set.add("garbage-json-body", "/verify", "application/json", random_bytes(20000, 3), fails(400, "bad_request"));
    set.add("json-array-body", "/verify", "application/json", "[1,2,3]", fails(400, "bad_request"));
    set.add("json-with-nul", "/verify", "application/json", std::string("{\"img1\":\"a\0b\"}", 14),
            fails(400, "bad_request"));
    set.add("deeply-nested-array", "/verify", "application/json", std::string(100000, '[') + std::string(100000, ']'),
            fails(400, "bad_request"));
    set.add("deeply-nested-in-field", "/verify", "application/json",
            "{\"img1\":" + std::string(5000, '[') + std::string(5000, ']') + ",\"img2\":\"" + good + "\"}",
            fails(400, "bad_request"));
    set.add("deeply-nested-objects", "/verify", "application/json",
            [] { std::string s; for (int i = 0; i < 20000; ++i) s += "{\"a\":"; s += "1"; return s + std::string(20000, '}'); }(),
            fails(400, "bad_request"));
    set.add("image-is-number", "/verify", "application/json", json{{"img1", 12}, {"img2", good}}.dump(),
            fails(400, "bad_request"));
    set.add("image-is-path", "/verify", "application/json", json{{"img1", "/etc/passwd"}, {"img2", good}}.dump(),
            fails(400, "bad_image"));
    set.add("image-is-url", "/verify", "application/json",
            json{{"img1", "https://example.com/a.jpg"}, {"img2", good}}.dump(), fails(400, "bad_image"));
    set.add("data-uri-without-base64", "/verify", "application/json",
            json{{"img1", "data:image/jpeg," + good}, {"img2", good}}.dump(), fails(400, "bad_image"));
    set.add("truncated-base64", "/verify", "application/json", json{{"img1", good.substr(0, 4001)}, {"img2", good}}.dump(),
            fails(400, "bad_image"));
    // 5.4 MB of zero bytes: within the body limit, so it reaches the decoder, which must refuse it.
    set.add("base64-of-zeros", "/verify", "application/json",
            json{{"img1", std::string(static_cast<std::size_t>(kMaxBodyMb * 1024 * 1024 * 0.9), 'A')}, {"img2", good}}.dump(),
            fails(400, "bad_image"));
    set.add("body-too-large", "/verify", "application/json",
            std::string(static_cast<std::size_t>(kMaxBodyMb * 1024 * 1024) + 1024, ' '), fails(413, "body_too_large"));
    for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"threshold-huge", "1e999"}, {"threshold-nan", "NaN"}, {"threshold-infinity", "Infinity"},
             {"threshold-negative", "-0.5"}, {"threshold-zero", "0"}, {"threshold-string", "\"0.6\""},
             {"threshold-bigint", "123456789012345678901234567890"}}) {
      set.add(name, "/verify", "application/json",
              "{\"img1\":\"" + good + "\",\"img2\":\"" + good + "\",\"threshold\":" + value + "}",
              fails(400, "bad_request"));
    }
    set.add("bad-detector", "/verify", "application/json",
            json{{"img1", good}, {"img2", good}, {"detector", "yolo"}}.dump(), fails(400, "bad_request"));
    set.add("bad-face-policy", "/verify", "application/json",
            json{{"img1", good}, {"img2", good}, {"face_policy", std::string(10000, 'x')}}.dump(),
            fails(400, "bad_request"));
    set.add("embed-too-many", "/embed", "application/json", json{{"images", json::array()}}.dump(),
            fails(400, "bad_request"));
    set.add("embed-list-of-numbers", "/embed", "application/json", json{{"images", {1, 2}}}.dump(),
            fails(400, "bad_request"));

    // --- content types --------------------------------------------------------------------------
    set.add("text-plain-verify", "/verify", "text/plain", verify_text, fails(415, "unsupported_media_type"));
    set.add("xml-verify", "/verify", "application/xml", "<img1/>", fails(415, "unsupported_media_type"));
    set.add("octet-stream-detect", "/detect", "application/octet-stream", jpg, fails(415, "unsupported_media_type"));
    set.add("form-urlencoded-detect", "/detect", "application/x-www-form-urlencoded", "img=abc",
            fails(415, "unsupported_media_type"));
    set.add("json-charset-ok", "/detect", "application/json; charset=utf-8", json{{"img", good}}.dump(),
            detects(w, h, 1));
    set.add("multipart-without-boundary", "/verify", "multipart/form-data", multipart("x", {{"img1", jpg}}),
            fails(400, "bad_request"));
    set.add("multipart-json-body", "/verify", "multipart/form-data; boundary=abc", verify_text,
            fails(400, "bad_request"));
    set.add("multipart-truncated", "/verify", "multipart/form-data; boundary=abc",
            multipart("abc", {{"img1", jpg}, {"img2", jpg}}).substr(0, jpg.size()), fails(400, "bad_request"));
    set.add("multipart-missing-img2", "/verify", "multipart/form-data; boundary=abc", multipart("abc", {{"img1", jpg}}),
            fails(400, "bad_request"));
    set.add("multipart-empty-img1", "/verify", "multipart/form-data; boundary=abc",
            multipart("abc", {{"img1", ""}, {"img2", jpg}}), fails(400, "bad_image"));
    set.add("multipart-bad-threshold", "/verify", "multipart/form-data; boundary=abc",
            multipart("abc", {{"img1", jpg}, {"img2", jpg}}, {{"threshold", "0.6abc"}}), fails(400, "bad_request"));

    // --- the original nested-array API --------------------------------------------------------
    const std::string ok16 = legacy_rows(16, 16);
    auto legacy = [&](const std::string& name, const std::string& truth, json expect) {
      set.add("legacy-" + name, "/", "application/json", "{\"truth\":" + truth + ",\"check\":" + ok16 + "}", expect);
    };
    legacy("empty-list", "[]", fails(400, "bad_image"));
    legacy("empty-row", "[[]]", fails(400, "bad_image"));
    legacy("empty-pixel", "[[[]]]", fails(400, "bad_image"));
    legacy("batch-of-two", "[" + ok16 + "," + ok16 + "]", fails(400, "bad_request"));
    legacy("ragged-rows", "[" + legacy_rows(1, 16).substr(1, legacy_rows(1, 16).size() - 2) + "," +
                              legacy_rows(15, 15).substr(1), fails(400, "bad_request"));
    legacy("ragged-pixel", legacy_rows(16, 16, "[1,2]"), fails(400, "bad_request"));
    legacy("four-channels", legacy_rows(16, 16, "[1,2,3,4]"), fails(400, "bad_request"));
    legacy("value-256", legacy_rows(16, 16, "[1,2,256]"), fails(400, "bad_request"));
    legacy("value-negative", legacy_rows(16, 16, "[1,-2,3]"), fails(400, "bad_request"));
    legacy("value-huge", legacy_rows(16, 16, "[1,2,1e308]"), fails(400, "bad_request"));
    legacy("value-overflow", legacy_rows(16, 16, "[1,2,1e999]"), fails(400, "bad_request"));
    legacy("value-nan", legacy_rows(16, 16, "[1,2,NaN]"), fails(400, "bad_request"));
    legacy("value-infinity", legacy_rows(16, 16, "[1,2,-Infinity]"), fails(400, "bad_request"));
    legacy("value-string", legacy_rows(16, 16, "[1,2,\"3\"]"), fails(400, "bad_request"));
    legacy("value-null", legacy_rows(16, 16, "[1,2,null]"), fails(400, "bad_request"));
    legacy("too-small", legacy_rows(8, 8), fails(400, "bad_image"));
    legacy("one-by-one", legacy_rows(1, 1), fails(400, "bad_image"));
    // Over the 1 MP limit in rows x columns although every row is short.
    legacy("over-pixel-limit", legacy_rows(1000, static_cast<int>(kMaxMegapixels * 1e6 / 1000) + 1, "[0,0,0]"),
           fails(413, "image_too_large"));
    legacy("deeply-nested", std::string(3000, '[') + std::string(3000, ']'), fails(400, "bad_request"));
    set.add("legacy-missing-check", "/", "application/json", "{\"truth\":" + ok16 + "}", fails(400, "bad_request"));
    set.add("legacy-xml", "/", "application/xml", "<truth/>", fails(415, "unsupported_media_type"));
    std::cout << "hostile inputs written to " << out.string() << " (server flags: " << kServerFlags << ")\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "facematch_make_hostile: " << e.what() << "\n";
    return 1;
  }
}
