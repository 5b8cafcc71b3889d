// face-api's input preparation (NetInput.toBatchTensor), reproduced exactly so that nets see the same
// numbers as in face-api.
#pragma once

#include <array>
#include <opencv2/core.hpp>
#include <span>

namespace facematch {

// What a net's input is made of pixel values: (x - subtract[c]) / divide, in float. The default leaves
// values unchanged ((x - 0) / 1 is exact).
struct InputNormalization {
  std::array<float, 3> subtract{};
  float divide = 1.f;
};

// Zero-pads to a square (center=false: all padding at the bottom/right; center=true: round(diff/2)
// after the image and the rest before it, as padToSquare does), then resizes to size x size with
// TensorFlow's legacy bilinear mapping (align_corners=false, half_pixel_centers=false) in float32 as
// tfjs-wasm computes it; OpenCV's INTER_LINEAR does not reproduce it. `image` may be an ROI view.
// Accepts CV_8UC3 or CV_32FC3; writes size x size x 3 floats (HWC) to `out`, normalized, so that a
// net's input buffer is filled without intermediate images.
void face_api_net_input(const cv::Mat& image, int size, bool center, const InputNormalization& normalization,
                        std::span<float> out);
// The same, unnormalized (values 0..255), as a CV_32FC3 image.
cv::Mat face_api_net_input(const cv::Mat& image, int size, bool center);

// face-api's computeReshapedDimensions: the image's extent inside the size x size net input, rounded to
// whole pixels (Math.round; sides are positive). Detectors divide by it to undo the padding.
cv::Size2d reshaped_dimensions(int image_w, int image_h, int size);

// face-api's normalization for the landmark and recognition nets: input = (x - mean RGB) / 255.
inline constexpr InputNormalization kFaceNormalization{{122.782f, 117.001f, 104.298f}, 255.f};

// Normalizes each pixel of a CV_32FC3 image into `out` (image.total() * 3 floats, HWC).
void normalize_hwc(const cv::Mat& image_f32c3, const InputNormalization& normalization, std::span<float> out);

// The pixels of `region`, black where it leaves the image: a view when it lies inside, else a copy; empty
// when it misses the image altogether.
cv::Mat region_with_black_border(const cv::Mat& image, const cv::Rect& region);

// face-api's Box.clipAtImageBorders(w, h).floor(): the integer region that extractFaceTensors slices.
cv::Rect clip_and_floor(const cv::Rect2d& box, int image_w, int image_h);

}  // namespace facematch
