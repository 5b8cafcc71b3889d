facematch_test(test_perf test_perf.cpp)
