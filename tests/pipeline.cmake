facematch_test(test_pipeline test_pipeline.cpp)
facematch_test(test_shared_faces test_shared_faces.cpp)
facematch_test(test_align test_align.cpp)
facematch_test(test_non_faces test_non_faces.cpp)
