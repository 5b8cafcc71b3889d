#include "image/face_api_resize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>

#include "facematch/error.hpp"

namespace facematch {

namespace {

// One axis of tfjs-wasm's resize (XNNPACK, float32): src = float(dst) * (in / out), lower = int(src),
// upper = min(lower + 1, in - 1), weight = src - lower. All in float, as the reference computes it.
// Equal sizes give lower = dst and weight 0, so a + (b - a) * 0 copies the pixel exactly.
struct Taps {
  std::vector<int> lower, upper;
  std::vector<float> weight;
  Taps(int in, int out) : lower(out), upper(out), weight(out) {
    const float scale = static_cast<float>(in) / static_cast<float>(out);
    for (int i = 0; i < out; ++i) {
      const float src = static_cast<float>(i) * scale;
      lower[i] = static_cast<int>(src);
      upper[i] = std::min(lower[i] + 1, in - 1);
      weight[i] = src - static_cast<float>(lower[i]);
    }
  }
};

// The zero-padded square is never built (for a 1920x1280 photo it is 44 MB of floats): a padded row is
// the image row converted to float with one zero pixel after it, which every tap into the padding
// points at, so the loops below have no branches.
template <typename T>
class PaddedRows {
 public:
  PaddedRows(const cv::Mat& image, int offset_y, int offset_x)
      : image_(image), offset_y_(offset_y), offset_x_(offset_x), row_(3 * (image.cols + 1), 0.f) {}

  // Offset in a padded row of the first channel of square column x.
  int column(int x) const {
    const int ix = x - offset_x_;
    return 3 * (ix < 0 || ix >= image_.cols ? image_.cols : ix);
  }
  // Square row y as floats, or nullptr where it is padding.
  const float* row(int y) {
    const int iy = y - offset_y_;
    if (iy < 0 || iy >= image_.rows) return nullptr;
    const T* p = image_.ptr<T>(iy);
    for (int i = 0; i < 3 * image_.cols; ++i) row_[static_cast<std::size_t>(i)] = static_cast<float>(p[i]);
    return row_.data();
  }

 private:
  const cv::Mat& image_;
  int offset_y_, offset_x_;
  std::vector<float> row_;
};

// Square row y resized horizontally: top = tl + (tr - tl) * ax, exactly the first step of the
// reference's bilinear formula, so that the vertical step below reproduces its every rounding.
template <typename T>
void horizontal(PaddedRows<T>& rows, int y, const std::vector<int>& left, const std::vector<int>& right,
                const std::vector<float>& weight, std::vector<float>& out) {
  const float* r = rows.row(y);
  if (!r) {
    std::fill(out.begin(), out.end(), 0.f);
    return;
  }
  float* dst = out.data();
  for (std::size_t x = 0; x < weight.size(); ++x, dst += 3) {
    const float* a = r + left[x];
    const float* b = r + right[x];
    const float w = weight[x];
    dst[0] = a[0] + (b[0] - a[0]) * w;
    dst[1] = a[1] + (b[1] - a[1]) * w;
    dst[2] = a[2] + (b[2] - a[2]) * w;
  }
}

template <typename T>
void resize_padded(const cv::Mat& image, int offset_y, int offset_x, int square, int size,
                   const InputNormalization& norm, float* out) {
  PaddedRows<T> rows(image, offset_y, offset_x);
  const Taps taps(square, size);
  std::vector<int> left(static_cast<std::size_t>(size)), right(static_cast<std::size_t>(size));
  for (int x = 0; x < size; ++x) {
    left[static_cast<std::size_t>(x)] = rows.column(taps.lower[x]);
    right[static_cast<std::size_t>(x)] = rows.column(taps.upper[x]);
  }
  // The two square rows the current output row interpolates, each resized horizontally once.
  std::vector<float> top(3 * static_cast<std::size_t>(size)), bottom(top.size()), subtract(top.size());
  for (std::size_t i = 0; i < subtract.size(); ++i) subtract[i] = norm.subtract[i % 3];
  int top_y = -1, bottom_y = -1;
  for (int y = 0; y < size; ++y) {
    const int want_top = taps.lower[y], want_bottom = taps.upper[y];
    const float ay = taps.weight[y];
    if (want_top != top_y) {
      if (want_top == bottom_y) {
        std::swap(top, bottom);
        bottom_y = -1;
      } else {
        horizontal(rows, want_top, left, right, taps.weight, top);
      }
      top_y = want_top;
    }
    if (want_bottom != bottom_y) {
      if (want_bottom == top_y)
        bottom = top;
      else
        horizontal(rows, want_bottom, left, right, taps.weight, bottom);
      bottom_y = want_bottom;
    }
    float* dst = out + static_cast<std::size_t>(y) * top.size();
    const float divide = norm.divide;
    for (std::size_t i = 0; i < top.size(); ++i)
      dst[i] = (top[i] + (bottom[i] - top[i]) * ay - subtract[i]) / divide;
  }
}

}  // namespace

void face_api_net_input(const cv::Mat& image, int size, bool center, const InputNormalization& normalization,
                        std::span<float> out) {
  if (image.empty() || image.channels() != 3 || (image.depth() != CV_8U && image.depth() != CV_32F))
    throw Error(ErrorCode::internal, "net input needs an 8-bit or float 3-channel image");
  if (size < 1 || out.size() != static_cast<std::size_t>(size) * size * 3)
    throw Error(ErrorCode::internal, "net input buffer has the wrong size");
  const int h = image.rows, w = image.cols, square = std::max(h, w);
  // padToSquare: the whole difference after the image, or (center) round(diff/2) after and the rest before.
  const int diff = square - std::min(h, w);
  const int before = center ? diff - static_cast<int>(std::lround(diff * 0.5)) : 0;
  const int offset_y = h < w ? before : 0, offset_x = w < h ? before : 0;
  if (image.depth() == CV_8U)
    resize_padded<std::uint8_t>(image, offset_y, offset_x, square, size, normalization, out.data());
  else
    resize_padded<float>(image, offset_y, offset_x, square, size, normalization, out.data());
}

cv::Mat face_api_net_input(const cv::Mat& image, int size, bool center) {
  cv::Mat out(size, size, CV_32FC3);
  face_api_net_input(image, size, center, {}, {out.ptr<float>(), out.total() * 3});
  return out;
}

void normalize_hwc(const cv::Mat& image, const InputNormalization& normalization, std::span<float> out) {
  if (image.type() != CV_32FC3) throw Error(ErrorCode::internal, "normalize_hwc needs CV_32FC3");
  if (out.size() != image.total() * 3)
    throw Error(ErrorCode::internal, "normalize_hwc: output has the wrong size");
  float* dst = out.data();
  const std::size_t row_values = static_cast<std::size_t>(image.cols) * 3;
  for (int r = 0; r < image.rows; ++r, dst += row_values) {
    const float* p = image.ptr<float>(r);
    for (std::size_t i = 0; i < row_values; ++i)
      dst[i] = (p[i] - normalization.subtract[i % 3]) / normalization.divide;
  }
}

cv::Size2d reshaped_dimensions(int image_w, int image_h, int size) {
  const double scale = static_cast<double>(size) / std::max(image_w, image_h);
  return {std::floor(image_w * scale + 0.5), std::floor(image_h * scale + 0.5)};
}

cv::Mat region_with_black_border(const cv::Mat& image, const cv::Rect& region) {
  const cv::Rect inside = region & cv::Rect(0, 0, image.cols, image.rows);
  if (inside.empty()) return {};
  if (inside == region) return image(region);
  cv::Mat out;
  cv::copyMakeBorder(image(inside), out, inside.y - region.y, region.br().y - inside.br().y,
                     inside.x - region.x, region.br().x - inside.br().x, cv::BORDER_CONSTANT,
                     cv::Scalar::all(0));
  return out;
}

cv::Rect clip_and_floor(const cv::Rect2d& box, int image_w, int image_h) {
  // Box.clipAtImageBorders: x' = max(x, 0), w' = min(right - x', imgW - x'), then floor every field.
  const double x = std::max(box.x, 0.0), y = std::max(box.y, 0.0);
  const double right = box.x + box.width, bottom = box.y + box.height;
  const double w = std::min(right - x, image_w - x), h = std::min(bottom - y, image_h - y);
  return {static_cast<int>(std::floor(x)), static_cast<int>(std::floor(y)), static_cast<int>(std::floor(w)),
          static_cast<int>(std::floor(h))};
}

}  // namespace facematch
