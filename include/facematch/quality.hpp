// How good a detected face is for verification: size, blur, head pose, exposure and whether the image
// border cuts it, measured from the face's 68 landmarks, its box, the image and the aligned chip, plus
// the reasons a face falls short. The defaults of QualityThresholds come from the calibration study
// bench/quality_study.cpp (tools/quality-study.sh; docs/quality.md has its table).
#pragma once

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "facematch/face.hpp"

namespace facematch {

struct FaceQuality {
  // Distance between the eye centres (the means of landmarks 36-41 and 42-47), in the pixels of the
  // image the face was measured in.
  double interocular_px = 0;
  // Fraction (0..1) of the gradient energy of the chip's inner face (its central 100x100 pixels,
  // brows to lower lip, in grey) that a Gaussian blur of sigma 1.5 pixels removes. Fine detail carries
  // most of a sharp face's gradient energy; a face that is already blurred loses little more. A ratio
  // of energies, so independent of contrast and brightness (Crete-Roffet's "re-blur" principle).
  // The 2,745 calibration faces measure 0.21-0.80 (median 0.58); obama_1.jpg 0.64, blurred with a
  // Gaussian of sigma 4 / 6 / 7 pixels (interocular 104 px) 0.30 / 0.18 / 0.14; 0 for a flat chip.
  // Sensor noise counts as detail: a dark, noisy phone photo measures 0.7.
  double sharpness = 0;
  // Head pose in degrees. yaw and pitch are the direction the face points in, from a generic 3-D face
  // (14 landmarks) fitted by scaled orthographic projection: yaw > 0 when the face turns towards the
  // image's right, pitch > 0 when it looks up, 0 for the calibration set's median face (the raw fit
  // reads level faces about 9 degrees down). roll is the eye line's angle: > 0 when it descends towards
  // the image's right (the head tilted clockwise as seen). All three are measured on the face as the
  // landmark net saw it, stood up by Detection::upright_turns quarter turns (the roll in the photo
  // itself is roll_deg - 90 x upright_turns). When the landmark net fails (faces rotated past about 60
  // degrees from the way it saw them, jumbled points on a full profile) the fit reads large pitch or
  // yaw, which flags the face as well.
  double yaw_deg = 0, pitch_deg = 0, roll_deg = 0;
  // Mean and standard deviation of the luma (BT.601, 0..255) of the face region: the convex hull of
  // the jaw and brow landmarks (0-26), the part inside the image.
  double brightness = 0, contrast = 0;
  // Fraction (0..1) of the detection box's area outside the image. The landmark net places all 68
  // points inside the crop it is given even when the image cuts through the face (a photo cut below the
  // nose gets a mouth squeezed in above the border), so a box reaching well past the border is the
  // surer sign of a face cut by the border.
  double box_outside = 0;
  // Some of the inner face (landmarks 17-67: brows, eyes, nose, mouth) lies outside the image.
  bool landmarks_outside = false;
  // The face is cut by the image border: landmarks_outside, or more than
  // QualityThresholds::max_box_outside of the box is outside the image.
  bool cut_off = false;
  // Why the face is poor for verification, in this order, each at most once (see QualityThresholds):
  // too_small, blurred, profile, tilted, rotated, dark, overexposed, cut_off.
  std::vector<std::string> reasons;

  bool acceptable() const { return reasons.empty(); }
  // "blurred, profile": the reasons for messages.
  std::string reasons_text() const;
};

// A face gets a reason when its measure is beyond the threshold (strictly below a minimum or above a
// maximum; a NaN measure counts as beyond). The defaults are the calibration study's choices: pairs in
// which a face is beyond them have a clearly higher error rate at threshold 0.6 (docs/quality.md
// has the rates), except dark and overexposed, which showed no effect there and flag only the extremes.
struct QualityThresholds {
  double min_interocular_px = 20;  // too_small
  double min_sharpness = 0.25;     // blurred
  double max_abs_yaw_deg = 45;     // profile
  double max_abs_pitch_deg = 25;   // tilted
  double max_abs_roll_deg = 45;    // rotated
  double min_brightness = 40;      // dark (conservative: no calibration face is this dark)
  double max_brightness = 230;     // overexposed (conservative: no calibration face is this bright)
  double max_box_outside = 0.05;   // cut_off, with landmarks_outside
};

// A floor for refusing a "same person" answer outright: below every one of the 2,745 calibration faces
// (lowest 0.21), above obama_1.jpg blurred with sigma 6 (0.18). QualityThresholds::min_sharpness (0.25)
// is the milder "blurred" reason.
inline constexpr double kExtremeBlurSharpness = 0.2;

// The quality of `face` in `rgb` (CV_8UC3 RGB; the face's box and landmarks in the same pixel
// coordinates). `chip` is extract_chip(rgb, face, AlignMode::similarity) (CV_32FC3, 0..255), the chip
// the descriptor is computed from. Error{internal} for images or chips of another type.
FaceQuality assess_face_quality(const cv::Mat& rgb, const Face& face, const cv::Mat& chip,
                                const QualityThresholds& thresholds = {});

// The reasons `quality`'s measures give under `thresholds` (what assess_face_quality stores), for
// re-judging stored measures with other thresholds (quality.reasons and quality.cut_off are not read).
std::vector<std::string> quality_reasons(const FaceQuality& quality,
                                         const QualityThresholds& thresholds = {});

// {"acceptable", "reasons", "interocular_px", "sharpness", "yaw_deg", "pitch_deg", "roll_deg",
//  "brightness", "contrast", "box_outside", "landmarks_outside", "cut_off"}
nlohmann::json to_json(const FaceQuality& quality);

}  // namespace facematch
