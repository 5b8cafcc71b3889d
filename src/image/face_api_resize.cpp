#include "image/face_api_resize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <opencv2/core.hpp>

#include "facematch/error.hpp"

namespace facematch {

namespace {

// Reads pixel (y, x) of the zero-padded square without building it: the padded square of a 1920x1280
// photo is 44 MB of floats, and allocating it costs more than the whole net.
template <typename T>
struct PaddedView {
  const cv::Mat& image;
  int offset_y, offset_x;
  const T* pixel(int y, int x) const {
    const int iy = y - offset_y, ix = x - offset_x;
    if (iy < 0 || ix < 0 || iy >= image.rows || ix >= image.cols) return nullptr;
    return image.ptr<T>(iy) + 3 * ix;
  }
};

// One axis of tfjs-wasm's resize (XNNPACK, float32): src = float(dst) * (in / out), lower = int(src),
// upper = min(lower + 1, in - 1), weight = src - lower. All in float, as the reference computes it.
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

template <typename T>
cv::Mat resize_padded(const PaddedView<T>& view, int square, int size) {
  cv::Mat out(size, size, CV_32FC3);
  if (square == size) {
    for (int y = 0; y < size; ++y) {
      float* dst = out.ptr<float>(y);
      for (int x = 0; x < size; ++x) {
        const T* p = view.pixel(y, x);
        for (int c = 0; c < 3; ++c) dst[3 * x + c] = p ? static_cast<float>(p[c]) : 0.f;
      }
    }
    return out;
  }
  const Taps taps(square, size);
  for (int y = 0; y < size; ++y) {
    float* dst = out.ptr<float>(y);
    const float ay = taps.weight[y];
    for (int x = 0; x < size; ++x) {
      const float ax = taps.weight[x];
      const T* tl = view.pixel(taps.lower[y], taps.lower[x]);
      const T* tr = view.pixel(taps.lower[y], taps.upper[x]);
      const T* bl = view.pixel(taps.upper[y], taps.lower[x]);
      const T* br = view.pixel(taps.upper[y], taps.upper[x]);
      for (int c = 0; c < 3; ++c) {
        const float vtl = tl ? static_cast<float>(tl[c]) : 0.f, vtr = tr ? static_cast<float>(tr[c]) : 0.f;
        const float vbl = bl ? static_cast<float>(bl[c]) : 0.f, vbr = br ? static_cast<float>(br[c]) : 0.f;
        const float top = vtl + (vtr - vtl) * ax;
        const float bottom = vbl + (vbr - vbl) * ax;
        dst[3 * x + c] = top + (bottom - top) * ay;
      }
    }
  }
  return out;
}

}  // namespace

cv::Mat face_api_net_input(const cv::Mat& image, int size, bool center) {
  if (image.empty() || image.channels() != 3 || (image.depth() != CV_8U && image.depth() != CV_32F))
    throw Error(ErrorCode::internal, "net input needs an 8-bit or float 3-channel image");
  const int h = image.rows, w = image.cols, square = std::max(h, w);
  // padToSquare: the whole difference after the image, or (center) round(diff/2) after and the rest before.
  const int diff = square - std::min(h, w);
  const int before = center ? diff - static_cast<int>(std::lround(diff * 0.5)) : 0;
  const int offset_y = h < w ? before : 0, offset_x = w < h ? before : 0;
  if (image.depth() == CV_8U) return resize_padded(PaddedView<std::uint8_t>{image, offset_y, offset_x}, square, size);
  return resize_padded(PaddedView<float>{image, offset_y, offset_x}, square, size);
}

std::vector<float> normalize_hwc(const cv::Mat& image, const std::array<float, 3>& subtract, float divide) {
  if (image.type() != CV_32FC3) throw Error(ErrorCode::internal, "normalize_hwc needs CV_32FC3");
  std::vector<float> out(image.total() * 3);
  std::size_t i = 0;
  for (int r = 0; r < image.rows; ++r) {
    const float* p = image.ptr<float>(r);
    for (int c = 0; c < image.cols * 3; ++c) out[i++] = (p[c] - subtract[static_cast<std::size_t>(c % 3)]) / divide;
  }
  return out;
}

cv::Size2d reshaped_dimensions(int image_w, int image_h, int size) {
  const double scale = static_cast<double>(size) / std::max(image_w, image_h);
  return {std::floor(image_w * scale + 0.5), std::floor(image_h * scale + 0.5)};
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
