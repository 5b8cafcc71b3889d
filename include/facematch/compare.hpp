// Stage 6: distance between descriptors and the verdict.
#pragma once

#include "facematch/face.hpp"

namespace facematch {

// dlib's and face-api's threshold for this descriptor: distance < 0.6 means the same person.
inline constexpr double kDefaultThreshold = 0.6;

// Euclidean distance, summed in double as face-api does. Throws Error{invalid_argument} if the
// descriptors come from different models or have different lengths.
double euclidean_distance(const Embedding& a, const Embedding& b);

inline bool is_match(double distance, double threshold) { return distance < threshold; }

// Thresholds are refused at or above this: the descriptors are not unit length (norms about 1.4), but no
// two faces come near this distance (docs/interfaces.md), so a higher threshold would accept every pair.
inline constexpr double kMaxThreshold = 2.0;

// Throws Error{invalid_argument} naming `what` unless 0 < threshold < kMaxThreshold.
void check_threshold(double threshold, const char* what = "threshold");

// similarity = 1 / (1 + (distance / threshold)^4): 1 at distance 0, exactly 0.5 at the threshold and
// falling towards 0 beyond it, so similarity > 0.5 if and only if the pair verifies. The exponent makes
// typical genuine pairs (distance ~0.4 at threshold 0.6) read ~0.83 and typical impostors (~0.9) ~0.16.
double similarity_from_distance(double distance, double threshold);

}  // namespace facematch
