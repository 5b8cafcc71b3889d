facematch_test(test_decode test_decode.cpp)
