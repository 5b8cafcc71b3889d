// face-api's input preparation (NetInput.toBatchTensor), reproduced exactly so that nets see the same
// numbers as in face-api.
#pragma once

#include <array>
#include <vector>

#include <opencv2/core.hpp>

namespace facematch {

// Zero-pads to a square (center=false: all padding at the bottom/right; center=true: round(diff/2)
// after the image and the rest before it, as padToSquare does), then resizes to size x size with
// TensorFlow's legacy bilinear mapping (align_corners=false, half_pixel_centers=false) in float32 as
// tfjs-wasm computes it; OpenCV's INTER_LINEAR does not reproduce it. `image` may be an ROI view.
// Accepts CV_8UC3 or CV_32FC3; returns CV_32FC3, values 0..255.
cv::Mat face_api_net_input(const cv::Mat& image, int size, bool center);

// face-api's computeReshapedDimensions: the image's extent inside the size x size net input, rounded to
// whole pixels (Math.round; sides are positive). Detectors divide by it to undo the padding.
cv::Size2d reshaped_dimensions(int image_w, int image_h, int size);

// face-api's mean RGB for the landmark and recognition nets: input = (x - mean) / 255.
inline constexpr std::array<float, 3> kFaceMean = {122.782f, 117.001f, 104.298f};

// (x - subtract[c]) / divide for each pixel of a CV_32FC3 image, flattened to HWC floats.
std::vector<float> normalize_hwc(const cv::Mat& image_f32c3, const std::array<float, 3>& subtract, float divide);

// face-api's Box.clipAtImageBorders(w, h).floor(): the integer region that extractFaceTensors slices.
cv::Rect clip_and_floor(const cv::Rect2d& box, int image_w, int image_h);

}  // namespace facematch
