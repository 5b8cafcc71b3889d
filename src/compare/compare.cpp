#include "facematch/compare.hpp"

#include <cmath>
#include <string>

#include "facematch/error.hpp"

namespace facematch {

double euclidean_distance(const Embedding& a, const Embedding& b) {
  if (a.model != b.model)
    throw Error(ErrorCode::invalid_argument,
                "descriptors from different models (" + a.model + ", " + b.model + ") cannot be compared");
  if (a.values.size() != b.values.size() || a.values.empty())
    throw Error(ErrorCode::invalid_argument, "descriptors of different or zero length cannot be compared");
  double sum = 0;
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    const double d = static_cast<double>(a.values[i]) - b.values[i];
    sum += d * d;
  }
  return std::sqrt(sum);
}

void check_threshold(double threshold, const char* what) {
  if (!(threshold > 0 && threshold < kMaxThreshold)) {
    std::string message = what;
    message += " must be above 0 and below 2 (euclidean distances between this model's descriptors)";
    throw Error(ErrorCode::invalid_argument, message);
  }
}

double similarity_from_distance(double distance, double threshold) {
  const double r = distance / threshold;
  return 1.0 / (1.0 + r * r * r * r);
}

}  // namespace facematch
