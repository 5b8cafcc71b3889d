#include "gallery_test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "postgres_server.hpp"

namespace facematch::testing {
namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("facematch-gallery-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

}  // namespace

std::filesystem::path gallery_temp_dir() {
  static TempDir dir;
  return dir.path;
}

bool set_read_only(const std::filesystem::path& file, bool read_only) {
  if (::geteuid() != 0) {
    std::error_code ec;
    std::filesystem::permissions(
        file,
        read_only ? std::filesystem::perms::owner_read
                  : std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        ec);
    return !ec;
  }
  // Root writes through permission bits; the immutable attribute stops it.
  std::string command = read_only ? "chattr +i '" : "chattr -i '";
  command += file.string();
  command += "' 2>/dev/null";
  return std::system(command.c_str()) == 0;
}

std::vector<StoreLocation> gallery_store_locations() {
  std::vector<StoreLocation> locations;
  locations.push_back(
      {"sqlite", [] {
         static std::atomic<int> counter{0};
         return (gallery_temp_dir() / ("gallery-" + std::to_string(++counter) + ".sqlite")).string();
       }});
  // One server per test process, started by the first PostgreSQL test (a second or two), a fresh
  // database for each location.
  locations.push_back({"postgresql", [] {
                         static std::mutex mutex;
                         static std::unique_ptr<PostgresServer> server;
                         static int counter = 0;
                         std::lock_guard lock(mutex);
                         if (!server) server = std::make_unique<PostgresServer>();
                         std::string name = "gallery_";
                         name += std::to_string(++counter);
                         server->create_database(name);
                         return server->dsn(name);
                       }});
  return locations;
}

}  // namespace facematch::testing
