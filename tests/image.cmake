facematch_test(test_decode test_decode.cpp)
facematch_test(test_face_api_resize test_face_api_resize.cpp)
# The oracle must round like the code it checks: no fused multiply-adds on CPUs that have them.
set_source_files_properties(test_face_api_resize.cpp PROPERTIES COMPILE_OPTIONS -ffp-contract=off)
