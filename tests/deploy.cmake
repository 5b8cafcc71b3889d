# Issue 16, several machines: replicas sharing a real PostgreSQL gallery behind HAProxy (Debian's
# haproxy), under load and faults. The cluster helper is shared with bench/replica_faults.cpp.
if(TARGET facematch_gallery)
  add_library(facematch_replica_cluster STATIC replica_cluster.cpp)
  target_link_libraries(facematch_replica_cluster PUBLIC facematch_postgres_test_server facematch_server_test_harness)
  add_dependencies(facematch_replica_cluster facematch_cli)

  add_executable(test_replicas test_replicas.cpp)
  target_link_libraries(test_replicas PRIVATE facematch_replica_cluster GTest::gtest_main)
  # Each test starts PostgreSQL, three replicas and HAProxy and runs its fault under load: 40-60 s each
  # in a release build on 2 busy cores, mostly model warm-ups; the timeout leaves room for ASan. The
  # label runs them as a group (ctest -L replicas).
  gtest_discover_tests(test_replicas DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "OMP_NUM_THREADS=1" LABELS replicas TIMEOUT 900)
endif()
