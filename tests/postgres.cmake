# A real PostgreSQL 15 server for tests (tests/postgres_server.hpp), shared by the gallery tests and
# later deployment tests.
add_library(facematch_postgres_test_server STATIC postgres_server.cpp)
target_include_directories(facematch_postgres_test_server PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})

facematch_test(test_postgres_server test_postgres_server.cpp)
target_link_libraries(test_postgres_server PRIVATE facematch_postgres_test_server)

# The PostgreSQL gallery back end's own tests (the shared store tests run it through
# gallery_store_locations() as well). Needs the gallery library (cmake/gallery.cmake).
if(TARGET facematch_gallery)
  facematch_test(test_gallery_postgres test_gallery_postgres.cpp)
  target_link_libraries(test_gallery_postgres PRIVATE facematch_postgres_test_server facematch_gallery
                        facematch_server_test_harness)
endif()
