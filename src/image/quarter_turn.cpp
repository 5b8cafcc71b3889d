#include "image/quarter_turn.hpp"

#include <algorithm>
#include <cmath>

#include "facematch/error.hpp"

namespace facematch {
namespace {

int normalized(int turns) {
  if (turns < 0 || turns > 3) throw Error(ErrorCode::internal, "a quarter turn count must be 0 to 3");
  return turns;
}

}  // namespace

cv::Mat turn_clockwise(const cv::Mat& image, int turns) {
  switch (normalized(turns)) {
    case 0:
      return image;
    case 1: {
      cv::Mat out;
      cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE);
      return out;
    }
    case 2: {
      cv::Mat out;
      cv::rotate(image, out, cv::ROTATE_180);
      return out;
    }
    default: {
      cv::Mat out;
      cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      return out;
    }
  }
}

cv::Point2d unturn_point(const cv::Point2d& p, int turns, const cv::Size& original) {
  const double w = original.width, h = original.height;
  switch (normalized(turns)) {
    case 0:
      return p;
    case 1:  // clockwise: (x, y) went to (h - y, x)
      return {p.y, h - p.x};
    case 2:
      return {w - p.x, h - p.y};
    default:  // counter-clockwise: (x, y) went to (y, w - x)
      return {w - p.y, p.x};
  }
}

cv::Rect2d unturn_box(const cv::Rect2d& box, int turns, const cv::Size& original) {
  const auto a = unturn_point(box.tl(), turns, original), b = unturn_point(box.br(), turns, original);
  return {std::min(a.x, b.x), std::min(a.y, b.y), std::abs(a.x - b.x), std::abs(a.y - b.y)};
}

}  // namespace facematch
