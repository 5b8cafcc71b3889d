// The PostgreSQL back end behind open_gallery_store (src/gallery/postgres_store.cpp).
#pragma once

#include <memory>
#include <string>

#include "facematch/gallery.hpp"

namespace facematch {

// A store for a libpq connection URI (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?...]).
// Connects on the first call, not here; Error{invalid_argument} for a URI libpq cannot parse.
std::unique_ptr<GalleryStore> open_postgres_store(const std::string& uri);

}  // namespace facematch
