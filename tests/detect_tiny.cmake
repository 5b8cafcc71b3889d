facematch_test(test_tiny test_tiny.cpp)
