// Quarter turns of a photo taken sideways or upside down without an EXIF orientation: the detectors and
// the landmark net only know upright faces, so both see the turned pixels and their results are mapped
// back to the photo as it arrived.
#pragma once

#include <opencv2/core.hpp>

namespace facematch {

// `turns` clockwise quarter turns (0-3) of `image`; 0 returns `image` itself.
cv::Mat turn_clockwise(const cv::Mat& image, int turns);

// A point of the image turned by `turns` clockwise quarter turns, in the coordinates of `original`
// (the unturned image's size). Continuous coordinates: pixel edges, not pixel centres.
cv::Point2d unturn_point(const cv::Point2d& turned, int turns, const cv::Size& original);

// A box of the turned image, as the box that covers the same pixels of the unturned one.
cv::Rect2d unturn_box(const cv::Rect2d& turned, int turns, const cv::Size& original);

}  // namespace facematch
