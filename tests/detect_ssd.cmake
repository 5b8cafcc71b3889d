facematch_test(test_detect_ssd test_ssd.cpp)
