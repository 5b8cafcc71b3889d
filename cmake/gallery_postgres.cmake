# The PostgreSQL gallery back end (--gallery postgresql://...), through libpq (Debian libpq-dev).
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
target_sources(facematch_gallery PRIVATE src/gallery/postgres_store.cpp)
target_link_libraries(facematch_gallery PRIVATE PkgConfig::LIBPQ)
