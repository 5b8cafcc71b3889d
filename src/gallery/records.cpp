// Names, labels and the serialisation every back end shares (include/facematch/gallery.hpp).
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "facematch/error.hpp"
#include "facematch/gallery.hpp"

namespace facematch {
namespace {

bool safe_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == '@';
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    const std::uint32_t min_for_length[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

double number_or_nan(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::numeric_limits<double>::quiet_NaN();
  return it->get<double>();
}

}  // namespace

bool is_postgres_location(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

bool valid_subject_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxSubjectNameLength || name.front() == '.') return false;
  for (const char c : name)
    if (!safe_name_char(c)) return false;
  return true;
}

bool valid_label(std::string_view label) {
  if (label.size() > kMaxLabelBytes || !valid_utf8(label)) return false;
  for (const char c : label) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return false;
  }
  return true;
}

void check_subject_name(std::string_view name) {
  if (!valid_subject_name(name))
    throw Error(ErrorCode::invalid_argument,
                "a subject name is 1 to " + std::to_string(kMaxSubjectNameLength) +
                    " characters of A-Z, a-z, 0-9, '_', '-', '.' and '@', not starting with '.'");
}

void check_label(std::string_view label) {
  if (!valid_label(label))
    throw Error(ErrorCode::invalid_argument,
                "a label is at most " + std::to_string(kMaxLabelBytes) +
                    " bytes of valid UTF-8 without control characters (tab allowed)");
}

std::string descriptor_to_blob(std::span<const float> values) {
  std::string blob(values.size() * 4, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    auto bits = std::bit_cast<std::uint32_t>(values[i]);
    for (int b = 0; b < 4; ++b) blob[i * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xFF);
  }
  return blob;
}

std::vector<float> descriptor_from_blob(std::string_view blob) {
  if (blob.size() % 4 != 0)
    throw Error(ErrorCode::unavailable,
                "a stored descriptor is damaged (" + std::to_string(blob.size()) +
                    " bytes, not a multiple of 4): restore the gallery from a backup");
  std::vector<float> values(blob.size() / 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t bits = 0;
    for (int b = 0; b < 4; ++b)
      bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(blob[i * 4 + b])) << (8 * b);
    values[i] = std::bit_cast<float>(bits);
  }
  return values;
}

std::string quality_to_text(const FaceQuality& quality) { return to_json(quality).dump(); }

FaceQuality quality_from_text(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object())
    throw Error(ErrorCode::unavailable,
                "a stored face quality is damaged: restore the gallery from a backup");
  FaceQuality q;
  q.interocular_px = number_or_nan(j, "interocular_px");
  q.sharpness = number_or_nan(j, "sharpness");
  q.yaw_deg = number_or_nan(j, "yaw_deg");
  q.pitch_deg = number_or_nan(j, "pitch_deg");
  q.roll_deg = number_or_nan(j, "roll_deg");
  q.brightness = number_or_nan(j, "brightness");
  q.contrast = number_or_nan(j, "contrast");
  q.box_outside = number_or_nan(j, "box_outside");
  q.landmarks_outside = j.value("landmarks_outside", false);
  q.cut_off = j.value("cut_off", false);
  if (const auto it = j.find("reasons"); it != j.end() && it->is_array())
    for (const auto& r : *it)
      if (r.is_string()) q.reasons.push_back(r.get<std::string>());
  return q;
}

}  // namespace facematch
