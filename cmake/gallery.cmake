# The face gallery (issue 13, src/gallery): the store back ends and the faiss index, a library of its
# own so that only what uses the gallery links SQLite and faiss.
find_package(SQLite3 REQUIRED)
find_package(faiss REQUIRED)

add_library(facematch_gallery STATIC
  src/gallery/records.cpp
  src/gallery/open_store.cpp
  src/gallery/sqlite_store.cpp
  src/gallery/gallery.cpp
)
target_include_directories(facematch_gallery PRIVATE src)
target_link_libraries(facematch_gallery PUBLIC facematch PRIVATE SQLite::SQLite3 faiss nlohmann_json::nlohmann_json)
