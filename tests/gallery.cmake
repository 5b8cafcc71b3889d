# The face gallery (issue 13): the store back ends (each test runs against every location of
# gallery_store_locations()), the Gallery over real photos, the CLI and the HTTP routes.
add_library(facematch_gallery_test_support STATIC gallery_test_support.cpp)
target_link_libraries(facematch_gallery_test_support PUBLIC facematch_test_support facematch_gallery)
# The PostgreSQL locations: databases of a real server started by the test process (tests/postgres.cmake).
target_link_libraries(facematch_gallery_test_support PUBLIC facematch_postgres_test_server)

facematch_test(test_gallery_store test_gallery_store.cpp)
target_link_libraries(test_gallery_store PRIVATE facematch_gallery_test_support)

find_package(SQLite3 REQUIRED)
facematch_test(test_gallery_sqlite test_gallery_sqlite.cpp)
target_link_libraries(test_gallery_sqlite PRIVATE facematch_gallery_test_support SQLite::SQLite3)

facematch_test(test_gallery test_gallery.cpp)
target_link_libraries(test_gallery PRIVATE facematch_gallery_test_support)

facematch_test(test_gallery_server test_gallery_server.cpp)
target_link_libraries(test_gallery_server PRIVATE facematch_gallery_test_support facematch_server_test_harness)
add_dependencies(test_gallery_server facematch_cli)
