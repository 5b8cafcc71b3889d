# The web page (issue 4) in a real browser: tests/web/run.sh installs playwright-core (npm ci of
# tests/web/package-lock.json into <build>/web-test), starts `facematch serve --port 0` and drives
# Debian's Chromium through the page. Screenshots of each result: <build>/web-screenshots/*.png.
# Skipped (exit 77) only when node or /usr/bin/chromium is missing; ./setup.sh installs both.
add_test(NAME web_page_chromium
  COMMAND ${PROJECT_SOURCE_DIR}/tests/web/run.sh $<TARGET_FILE:facematch_cli> ${PROJECT_BINARY_DIR})
set_tests_properties(web_page_chromium PROPERTIES
  SKIP_RETURN_CODE 77 TIMEOUT 600 ENVIRONMENT "OMP_NUM_THREADS=1")
# web/openapi.json against the real answers of every route (issue 14 item 17): tests/openapi/run.sh installs
# ajv and pngjs (npm ci of tests/openapi/package-lock.json into <build>/openapi-test), starts `facematch
# serve --port 0` with a gallery and validates each answer against the schema of its status. That every
# route is documented is Server.OpenApiDescribesEveryRoute. Skipped (exit 77) only when node is missing.
add_test(NAME openapi_answers
  COMMAND ${PROJECT_SOURCE_DIR}/tests/openapi/run.sh $<TARGET_FILE:facematch_cli> ${PROJECT_BINARY_DIR})
set_tests_properties(openapi_answers PROPERTIES
  SKIP_RETURN_CODE 77 TIMEOUT 600 ENVIRONMENT "OMP_NUM_THREADS=1")
