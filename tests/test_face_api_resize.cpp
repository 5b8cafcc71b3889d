// face_api_net_input against the definition it implements, computed the slow way: the zero-padded
// square built in full (cv::copyMakeBorder), then TensorFlow's legacy bilinear formula per output value.
// The fast path never builds the square and resizes rows once each; it must agree bit for bit, for 8-bit
// and float images, both paddings, shrinking, enlarging and equal sizes, and with normalization fused in.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/core.hpp>
#include <vector>

#include "image/face_api_resize.hpp"

namespace fm = facematch;

namespace {

// padToSquare then tf.image.resizeBilinear (align_corners=false, half_pixel_centers=false) in float32.
std::vector<float> by_definition(const cv::Mat& image, int size, bool center,
                                 const fm::InputNormalization& n) {
  const int h = image.rows, w = image.cols, square = std::max(h, w);
  const int diff = square - std::min(h, w);
  const int before = center ? diff - static_cast<int>(std::lround(diff * 0.5)) : 0;
  const int top = h < w ? before : 0, left = w < h ? before : 0;
  cv::Mat as_float, padded;
  image.convertTo(as_float, CV_32F);
  cv::copyMakeBorder(as_float, padded, top, square - h - top, left, square - w - left, cv::BORDER_CONSTANT,
                     cv::Scalar::all(0));
  const float scale = static_cast<float>(square) / static_cast<float>(size);
  std::vector<float> out;
  for (int y = 0; y < size; ++y) {
    const float sy = static_cast<float>(y) * scale;
    const int y0 = static_cast<int>(sy), y1 = std::min(y0 + 1, square - 1);
    const float ay = sy - static_cast<float>(y0);
    for (int x = 0; x < size; ++x) {
      const float sx = static_cast<float>(x) * scale;
      const int x0 = static_cast<int>(sx), x1 = std::min(x0 + 1, square - 1);
      const float ax = sx - static_cast<float>(x0);
      for (int c = 0; c < 3; ++c) {
        const float tl = padded.at<cv::Vec3f>(y0, x0)[c], tr = padded.at<cv::Vec3f>(y0, x1)[c];
        const float bl = padded.at<cv::Vec3f>(y1, x0)[c], br = padded.at<cv::Vec3f>(y1, x1)[c];
        const float upper = tl + (tr - tl) * ax;
        const float lower = bl + (br - bl) * ax;
        const float value = upper + (lower - upper) * ay;
        out.push_back((value - n.subtract[static_cast<std::size_t>(c)]) / n.divide);
      }
    }
  }
  return out;
}

std::size_t bitwise_differences(const std::vector<float>& a, const std::vector<float>& b) {
  std::size_t differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) differ += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return differ;
}

}  // namespace

TEST(FaceApiResize, FastPathEqualsTheDefinitionBitForBit) {
  cv::RNG rng(7);
  struct Case {
    int rows, cols, size;
    bool center;
  };
  const Case cases[] = {{480, 640, 416, false}, {640, 480, 416, false}, {300, 200, 112, true},
                        {97, 131, 150, true},   {60, 45, 150, true},    {150, 150, 150, true},
                        {416, 416, 416, false}, {33, 77, 512, false},   {1, 5, 112, true}};
  for (const auto& c : cases) {
    for (const int depth : {CV_8U, CV_32F}) {
      cv::Mat image(c.rows, c.cols, CV_MAKETYPE(depth, 3));
      if (depth == CV_8U)
        rng.fill(image, cv::RNG::UNIFORM, 0, 256);
      else
        rng.fill(image, cv::RNG::UNIFORM, 0.f, 255.f);
      for (const auto& n : {fm::InputNormalization{}, fm::kFaceNormalization}) {
        std::vector<float> fast(static_cast<std::size_t>(c.size) * c.size * 3);
        fm::face_api_net_input(image, c.size, c.center, n, fast);
        const auto expected = by_definition(image, c.size, c.center, n);
        ASSERT_EQ(fast.size(), expected.size());
        EXPECT_EQ(bitwise_differences(fast, expected), 0u)
            << c.rows << "x" << c.cols << " -> " << c.size << (c.center ? " centred" : "") << " depth "
            << depth << " divide " << n.divide;
      }
    }
  }
}

TEST(FaceApiResize, RoiViewReadsOnlyItsPixels) {
  // A crop of a larger image must be padded with zeros, not with the pixels around it.
  cv::Mat image(200, 200, CV_8UC3, cv::Scalar(200, 200, 200));
  const cv::Rect crop(50, 40, 60, 100);
  image(crop).setTo(cv::Scalar(10, 20, 30));
  const cv::Mat view = image(crop);
  std::vector<float> out(112 * 112 * 3);
  fm::face_api_net_input(view, 112, /*center=*/true, {}, out);
  EXPECT_EQ(bitwise_differences(out, by_definition(view.clone(), 112, true, {})), 0u);
  EXPECT_EQ(out[0], 0.f);  // top-left lies in the padding of the centred 60-wide crop
}

TEST(FaceApiResize, WrongBufferSizeIsRefused) {
  const cv::Mat image(10, 10, CV_8UC3, cv::Scalar::all(1));
  std::vector<float> out(10);
  EXPECT_ANY_THROW(fm::face_api_net_input(image, 112, true, {}, out));
}
