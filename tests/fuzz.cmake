# Hardening (issue 6). In every build: the fuzz targets of fuzz/ replay their seed corpora and every
# crash input ever found (fuzz/regressions/<target>) without fuzzing (ctest fuzz_replay_*), so the ASan
# suite checks them too; and the hostile-input tests run the real server over HTTP (test_hostile).
# With -DFACEMATCH_FUZZ=ON under clang (preset "fuzz") the libFuzzer binaries fuzz_<target> are built
# and each fuzzes for FACEMATCH_FUZZ_SECONDS (ctest fuzz_smoke_*); tools/fuzz.sh runs them longer.
option(FACEMATCH_FUZZ "Build the libFuzzer targets (clang only)" OFF)
set(FACEMATCH_FUZZ_SECONDS 20 CACHE STRING "Seconds each fuzz_smoke_* test fuzzes")
set(FACEMATCH_FUZZ_DIR ${PROJECT_SOURCE_DIR}/fuzz)
# Seeds are generated, not committed (they derive from a ../shared/faces photo): trimmed real requests
# and 32x24 images of every format the decoder reads, written by the hostile-input generator.
set(FACEMATCH_FUZZ_SEEDS ${CMAKE_BINARY_DIR}/fuzz-seeds)

# The hostile-input set: a generator (run by the tests into <build>/hostile/<pid> and <build>/fuzz-seeds)
# and the tests that post it to the real server binary.
add_executable(facematch_make_hostile ${PROJECT_SOURCE_DIR}/tools/hostile/make_hostile.cpp)
find_package(JPEG REQUIRED)
find_package(ZLIB REQUIRED)
target_link_libraries(facematch_make_hostile PRIVATE facematch_server_test_harness JPEG::JPEG ZLIB::ZLIB)
add_test(NAME fuzz_seeds COMMAND facematch_make_hostile --seeds ${FACEMATCH_FUZZ_SEEDS})
set_tests_properties(fuzz_seeds PROPERTIES FIXTURES_SETUP fuzz_seeds)

# facematch_fuzz_target(<name> SOURCES <library sources> LIBS <libraries>): the library sources under
# test are compiled into the target itself, so that libFuzzer's coverage instrumentation sees them.
function(facematch_fuzz_target name)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name}_replay ${FACEMATCH_FUZZ_DIR}/fuzz_${name}.cpp ${FACEMATCH_FUZZ_DIR}/replay_main.cpp
                 ${F_SOURCES})
  target_include_directories(${name}_replay PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name}_replay PRIVATE ${F_LIBS})
  add_test(NAME fuzz_replay_${name}
           COMMAND ${name}_replay ${FACEMATCH_FUZZ_SEEDS}/${name} ${FACEMATCH_FUZZ_DIR}/regressions/${name})
  set_tests_properties(fuzz_replay_${name} PROPERTIES TIMEOUT 300 ENVIRONMENT "OMP_NUM_THREADS=1"
                                                      FIXTURES_REQUIRED fuzz_seeds)
  if(FACEMATCH_FUZZ)
    add_executable(fuzz_${name} ${FACEMATCH_FUZZ_DIR}/fuzz_${name}.cpp ${F_SOURCES})
    target_include_directories(fuzz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS})
    set_target_properties(fuzz_${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})  # tools/fuzz.sh
    add_test(NAME fuzz_smoke_${name}
             COMMAND ${PROJECT_SOURCE_DIR}/tools/fuzz.sh --build-dir ${CMAKE_BINARY_DIR} --no-build
                     ${FACEMATCH_FUZZ_SECONDS} ${name})
    set_tests_properties(fuzz_smoke_${name} PROPERTIES TIMEOUT 600 ENVIRONMENT "OMP_NUM_THREADS=1"
                                                        FIXTURES_REQUIRED fuzz_seeds)
  endif()
endfunction()

facematch_fuzz_target(decode_image SOURCES ${PROJECT_SOURCE_DIR}/src/image/decode.cpp LIBS facematch)
facematch_fuzz_target(request_json SOURCES ${PROJECT_SOURCE_DIR}/src/server/request_parse.cpp
                      LIBS facematch simdjson::simdjson)
facematch_fuzz_target(multipart SOURCES ${PROJECT_SOURCE_DIR}/src/server/request_parse.cpp
                      LIBS facematch simdjson::simdjson PkgConfig::HTTPLIB)


facematch_test(test_hostile test_hostile.cpp)
target_link_libraries(test_hostile PRIVATE facematch_server_test_harness)
target_compile_definitions(test_hostile PRIVATE FACEMATCH_MAKE_HOSTILE="$<TARGET_FILE:facematch_make_hostile>")
add_dependencies(test_hostile facematch_cli facematch_make_hostile)
