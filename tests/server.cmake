# The HTTP service: parsers alone, then the real `facematch serve` binary over HTTP.
add_library(facematch_server_test_harness STATIC test_server_harness.cpp)
target_link_libraries(facematch_server_test_harness PUBLIC facematch_test_support facematch_server)
target_compile_definitions(facematch_server_test_harness PUBLIC FACEMATCH_CLI="$<TARGET_FILE:facematch_cli>")

facematch_test(test_server_parse test_server_parse.cpp)
target_link_libraries(test_server_parse PRIVATE facematch_server_test_harness)

facematch_test(test_server test_server.cpp)
target_link_libraries(test_server PRIVATE facematch_server_test_harness)
add_dependencies(test_server facematch_cli)
