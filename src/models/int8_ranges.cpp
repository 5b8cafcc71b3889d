#include "models/int8_ranges.hpp"

#include <nlohmann/json.hpp>

#include "facematch/error.hpp"

namespace facematch::models {
namespace {

constexpr const char* kBuiltinJson =
#include "int8-ranges.json.inc"
    ;

const nlohmann::json& builtin_nets() {
  static const nlohmann::json nets = [] {
    const auto j = nlohmann::json::parse(kBuiltinJson);
    if (j.value("format", "") != "facematch-int8-ranges" || j.value("version", 0) != 1)
      throw Error(ErrorCode::model_error, "data/int8-ranges.json is not a version-1 int8 range file");
    return j.at("nets");
  }();
  return nets;
}

}  // namespace

bool has_builtin_int8_ranges(const std::string& name) { return builtin_nets().contains(name); }

std::vector<float> builtin_int8_ranges(const engine::NetDescription& net) {
  if (!has_builtin_int8_ranges(net.name()))
    throw Error(ErrorCode::model_error,
                "precision int8: net " + net.name() +
                    " has no int8 calibration (run tools/calibrate-int8.sh and rebuild)");
  const auto& entry = builtin_nets().at(net.name());
  auto ranges = entry.at("ranges").get<std::vector<float>>();
  if (ranges.size() != net.value_count())
    throw Error(ErrorCode::model_error,
                "precision int8: the calibration of net " + net.name() + " has " +
                    std::to_string(ranges.size()) + " values, the net " + std::to_string(net.value_count()) +
                    " (its description changed: run tools/calibrate-int8.sh and rebuild)");
  return ranges;
}

}  // namespace facematch::models
