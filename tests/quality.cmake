facematch_test(test_quality_detect test_quality_detect.cpp)
# The recall set of bench/detection_recall (no models needed).
facematch_test(test_recall_set test_recall_set.cpp ${PROJECT_SOURCE_DIR}/bench/recall_set.cpp)
target_include_directories(test_recall_set PRIVATE ${PROJECT_SOURCE_DIR}/bench)
facematch_test(test_quality test_quality.cpp)
