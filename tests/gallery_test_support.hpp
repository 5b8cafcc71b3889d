// Store locations the gallery tests run against: every back end runs the same tests
// (INSTANTIATE_TEST_SUITE_P over gallery_store_locations()).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "facematch/gallery.hpp"

namespace facematch::testing {

struct StoreLocation {
  std::string name;  // the test-name suffix: "sqlite", "postgresql"
  // A fresh, empty location for one test (a new file path, a new database), as --gallery takes it.
  std::function<std::string()> make;
};

// SQLite always; a back end built in adds its own entry in gallery_test_support.cpp.
std::vector<StoreLocation> gallery_store_locations();

// A folder of this test process, removed when it exits.
std::filesystem::path gallery_temp_dir();

// Makes `file` read-only even for root (chattr +i; chmod for other users), or back (false). Returns
// false when the file system cannot do it.
bool set_read_only(const std::filesystem::path& file, bool read_only);

// For INSTANTIATE_TEST_SUITE_P's name generator.
struct StoreLocationName {
  template <typename Info>
  std::string operator()(const Info& info) const {
    return info.param.name;
  }
};

}  // namespace facematch::testing
