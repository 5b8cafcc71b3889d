// What every gallery back end selects for a face and how a row becomes a FaceRecord, so that SQLite and
// PostgreSQL read faces alike (the schemas name the columns the same).
#pragma once

#include "facematch/gallery.hpp"

namespace facematch::gallery_rows {

// The face columns, in the order face_from_row reads them (f = faces, s = subjects).
inline constexpr const char* kFaceColumns =
    "f.id, s.name, f.model, f.descriptor, f.box_x, f.box_y, f.box_w, f.box_h, f.score, f.quality, "
    "f.enrolled_at_ms, f.label, f.seq";

// `row` reads column c of one result row: text(c) (bytes, descriptors included), real(c), int64(c),
// null(c).
template <typename Row>
FaceRecord face_from_row(const Row& row) {
  FaceRecord f;
  f.id = row.int64(0);
  f.subject = row.text(1);
  f.descriptor.model = row.text(2);
  f.descriptor.values = descriptor_from_blob(row.text(3));
  f.box = {row.real(4), row.real(5), row.real(6), row.real(7), static_cast<float>(row.real(8))};
  f.quality = quality_from_text(row.text(9));
  f.enrolled_at_ms = row.int64(10);
  if (!row.null(11)) f.label = row.text(11);
  f.seq = row.int64(12);
  return f;
}

}  // namespace facematch::gallery_rows
