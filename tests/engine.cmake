facematch_test(test_models test_models.cpp)
facematch_test(test_recognition test_recognition.cpp)
