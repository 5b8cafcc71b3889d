# Test data and model integrity. Neither needs a compiled target: both are the repo's own scripts.

# Regenerates <build>/testdata from face-api's demo photos with face-api's own code (jpeg-js PPMs, chips,
# net inputs). Every gtest requires this fixture; the script returns in well under a second when the
# folder is already up to date, and takes about half a minute when it is not.
add_test(NAME testdata_inputs COMMAND ${PROJECT_SOURCE_DIR}/tools/golden/make-inputs.sh ${PROJECT_BINARY_DIR}/testdata)
set_tests_properties(testdata_inputs PROPERTIES FIXTURES_SETUP testdata TIMEOUT 900)

# The models the binary loads by default (FACEMATCH_MODELS_DIR) match the committed sums.
add_test(NAME model_checksums COMMAND ${PROJECT_SOURCE_DIR}/tools/fetch-models.sh --check ${FACEMATCH_MODELS_DIR})
set_tests_properties(model_checksums PROPERTIES TIMEOUT 60)
