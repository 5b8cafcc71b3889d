// Stage 4: turn a face (box + 68 landmarks) into the 150x150 chip the recognition net reads.
// Pure geometry on OpenCV; no model involved.
#pragma once

#include <opencv2/core.hpp>
#include <string_view>

#include "facematch/face.hpp"

namespace facematch {

enum class AlignMode {
  // face-api's own chip: an axis-aligned square from the eye and mouth centres (no rotation),
  // reproduced exactly so that descriptors equal face-api's.
  faceapi,
  // dlib's chip: a similarity transform (rotation, uniform scale, shift) fitting 33 landmarks to
  // dlib's mean face with padding 0.25, as the ResNet was trained on.
  similarity,
  // The similarity after stretching the image's x axis by the factor that fits the landmarks best
  // (1/3 to 3): undoes a photo resized to a square whatever its aspect ratio, as the original API's
  // clients send them (README "The original API", docs/original-api.md).
  unsquash,
  // A full affine fit (shear and both stretches) of the same landmarks.
  affine,
};
std::string_view to_string(AlignMode mode);
AlignMode parse_align(std::string_view name);  // Error{invalid_argument} on an unknown name

inline constexpr int kChipSize = 150;

// face-api's FaceLandmarks.alignDlib() rectangle, in image pixels (may extend past the image).
cv::Rect faceapi_chip_rect(const Face& face, int image_w, int image_h);

// How far a face's inner landmarks (17-67) lie from dlib's mean face after the similarity that fits them
// best: the RMS distance in units of the mean face's side (0 for the mean face itself). A face the
// landmark net could not read, e.g. one upside down, gets an irregular shape and a large misfit.
double mean_face_misfit(const Landmarks68& landmarks);

// The chip for `face` in `rgb` (CV_8UC3, RGB): CV_32FC3, 150x150, RGB values on the 0..255 scale.
cv::Mat extract_chip(const cv::Mat& rgb, const Face& face, AlignMode mode);

}  // namespace facematch
