// The calibration that int8 inference needs: for each value of a net, the largest magnitude it takes
// on real inputs. Measured by tools/calibrate-int8.sh on the calibration photos, kept in
// data/int8-ranges.json and built into the library.
#pragma once

#include <string>
#include <vector>

#include "engine/net.hpp"

namespace facematch::models {

// The built-in ranges of `net` (by its name), one per value. Throws Error{model_error} when the file
// has none for it or was made for a net with a different number of values.
std::vector<float> builtin_int8_ranges(const engine::NetDescription& net);

// Whether the built-in file has ranges for the net called `name`.
bool has_builtin_int8_ranges(const std::string& name);

}  // namespace facematch::models
