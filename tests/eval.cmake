facematch_test(test_eval_metrics test_eval_metrics.cpp)
facematch_test(test_eval test_eval.cpp)
target_compile_definitions(test_eval PRIVATE FACEMATCH_CLI="$<TARGET_FILE:facematch_cli>")
add_dependencies(test_eval facematch_cli)
