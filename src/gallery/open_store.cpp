// Picks the back end for a --gallery location (include/facematch/gallery.hpp).
#include "facematch/error.hpp"
#include "facematch/gallery.hpp"
#include "gallery/postgres_store.hpp"

namespace facematch {

std::unique_ptr<GalleryStore> open_gallery_store(const std::string& location) {
  if (location.empty())
    throw Error(ErrorCode::invalid_argument,
                "the gallery location is empty: give a file path or a postgresql:// URI");
  if (is_postgres_location(location)) return open_postgres_store(location);
  return open_sqlite_store(location);
}

}  // namespace facematch
