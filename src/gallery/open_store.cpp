// Picks the back end for a --gallery location (include/facematch/gallery.hpp).
#include "facematch/error.hpp"
#include "facematch/gallery.hpp"

namespace facematch {

std::unique_ptr<GalleryStore> open_gallery_store(const std::string& location) {
  if (location.empty())
    throw Error(ErrorCode::invalid_argument,
                "the gallery location is empty: give a file path or a postgresql:// URI");
  if (is_postgres_location(location)) {
    // The PostgreSQL back end (branch gallery-pg) replaces this placeholder.
    throw Error(ErrorCode::invalid_argument,
                "PostgreSQL support not built: this facematch was built without the PostgreSQL gallery "
                "back end; use a file path for an SQLite gallery");
  }
  return open_sqlite_store(location);
}

}  // namespace facematch
