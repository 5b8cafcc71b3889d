# The container image (issue 16), opt-in: cmake -DFACEMATCH_CONTAINER_TEST=ON. Builds the image from
# Debian's mirror with mmdebstrap (no registry) around the release binary, then runs it with podman
# (tests/container/run.sh). Takes several minutes, mostly downloading and unpacking packages.
option(FACEMATCH_CONTAINER_TEST "Register the container image build-and-run test" OFF)
if(FACEMATCH_CONTAINER_TEST)
  add_test(NAME container_image COMMAND ${PROJECT_SOURCE_DIR}/tests/container/run.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(container_image PROPERTIES LABELS "deploy;container" TIMEOUT 1800 RUN_SERIAL TRUE)
endif()
