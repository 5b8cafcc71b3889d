facematch_test(test_cli test_cli.cpp)
target_compile_definitions(test_cli PRIVATE FACEMATCH_CLI="$<TARGET_FILE:facematch_cli>")
add_dependencies(test_cli facematch_cli)
