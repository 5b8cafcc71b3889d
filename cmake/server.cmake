# `facematch serve` (src/server): a static library the CLI links, so tests and fuzzers can reuse it.
find_package(PkgConfig REQUIRED)
# Debian builds cpp-httplib as a shared library; its pkg-config flags (OpenSSL/zlib/brotli support)
# must match the library's build or the classes' layout would differ.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(simdjson REQUIRED)

add_library(facematch_server STATIC
  src/server/admission.cpp
  src/server/bounded_server.cpp
  src/server/metrics.cpp
  src/server/request_parse.cpp
  src/server/server.cpp
  src/server/web_assets.cpp
)
target_include_directories(facematch_server PUBLIC src)
target_link_libraries(facematch_server
  PUBLIC facematch facematch_gallery spdlog::spdlog PkgConfig::HTTPLIB simdjson::simdjson
  PRIVATE OpenSSL::Crypto nlohmann_json::nlohmann_json)

target_sources(facematch_cli PRIVATE src/cli/serve.cpp src/cli/gallery.cpp)
target_link_libraries(facematch_cli PRIVATE facematch_server)

if(FACEMATCH_BUILD_BENCH)
  # Load client for bench/load.sh (not a test).
  add_executable(facematch_load bench/load_client.cpp)
  target_link_libraries(facematch_load PRIVATE PkgConfig::HTTPLIB opencv::opencv nlohmann_json::nlohmann_json Threads::Threads)
endif()

# GCC 12 with -fsanitize=address,undefined reports std::regex's internal std::function as maybe
# uninitialized (a false positive inside <regex>, instantiated by the route table); -Werror would stop
# the ASan build on it.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  set_source_files_properties(src/server/server.cpp PROPERTIES COMPILE_OPTIONS -Wno-maybe-uninitialized)
endif()
