#include "image/face_api_resize.hpp"

#include <cmath>

#include <opencv2/core.hpp>

#include "facematch/error.hpp"

namespace facematch {

cv::Mat tf_resize_bilinear(const cv::Mat& image, int out_h, int out_w) {
  cv::Mat src;
  image.convertTo(src, CV_32FC3);
  if (src.channels() != 3 || src.empty()) throw Error(ErrorCode::internal, "tf_resize_bilinear needs a 3-channel image");
  const int in_h = src.rows, in_w = src.cols;
  cv::Mat out(out_h, out_w, CV_32FC3);
  const double row_ratio = static_cast<double>(in_h) / out_h;
  const double col_ratio = static_cast<double>(in_w) / out_w;
  // Source columns do not depend on the row: compute them once.
  std::vector<int> col0(out_w), col1(out_w);
  std::vector<double> col_frac(out_w);
  for (int c = 0; c < out_w; ++c) {
    const double f = col_ratio * c;
    col0[c] = std::max(0, static_cast<int>(std::floor(f)));
    col1[c] = std::min(in_w - 1, static_cast<int>(std::ceil(f)));
    col_frac[c] = f - col0[c];
  }
  for (int r = 0; r < out_h; ++r) {
    const double f = row_ratio * r;
    const int r0 = std::max(0, static_cast<int>(std::floor(f)));
    const int r1 = std::min(in_h - 1, static_cast<int>(std::ceil(f)));
    const double row_frac = f - r0;
    const float* top_row = src.ptr<float>(r0);
    const float* bottom_row = src.ptr<float>(r1);
    float* dst = out.ptr<float>(r);
    for (int c = 0; c < out_w; ++c) {
      for (int d = 0; d < 3; ++d) {
        const double tl = top_row[col0[c] * 3 + d], tr = top_row[col1[c] * 3 + d];
        const double bl = bottom_row[col0[c] * 3 + d], br = bottom_row[col1[c] * 3 + d];
        const double top = tl + (tr - tl) * col_frac[c];
        const double bottom = bl + (br - bl) * col_frac[c];
        dst[c * 3 + d] = static_cast<float>(top + (bottom - top) * row_frac);
      }
    }
  }
  return out;
}

cv::Mat face_api_net_input(const cv::Mat& image, int size, bool center) {
  if (image.empty() || image.channels() != 3) throw Error(ErrorCode::internal, "net input needs a 3-channel image");
  const int h = image.rows, w = image.cols;
  cv::Mat square = image;
  if (h != w) {
    const int diff = std::abs(h - w);
    const int after = center ? static_cast<int>(std::lround(diff * 0.5)) : diff;  // Math.round; diff >= 0
    const int before = diff - after;
    if (h > w) {
      cv::copyMakeBorder(image, square, 0, 0, before, after, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    } else {
      cv::copyMakeBorder(image, square, before, after, 0, 0, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    }
  }
  if (square.rows == size) {
    cv::Mat out;
    square.convertTo(out, CV_32FC3);
    return out;
  }
  return tf_resize_bilinear(square, size, size);
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

cv::Rect clip_and_floor(const cv::Rect2d& box, int image_w, int image_h) {
  // Box.clipAtImageBorders: x' = max(x, 0), w' = min(right - x', imgW - x'), then floor every field.
  const double x = std::max(box.x, 0.0), y = std::max(box.y, 0.0);
  const double right = box.x + box.width, bottom = box.y + box.height;
  const double w = std::min(right - x, image_w - x), h = std::min(bottom - y, image_h - y);
  return {static_cast<int>(std::floor(x)), static_cast<int>(std::floor(y)), static_cast<int>(std::floor(w)),
          static_cast<int>(std::floor(h))};
}

}  // namespace facematch
