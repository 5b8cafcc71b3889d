# MediaPipe BlazeFace short-range: net parity with TensorFlow.js, and the upright judgement built on it.
facematch_test(test_blazeface test_blazeface.cpp)
