// What only the SQLite back end does: one file made by the first enrolment, WAL, secure_delete, schema
// checks, and a damaged file answered as unavailable until it is restored.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/gallery.hpp"
#include "gallery_test_support.hpp"

namespace facematch::testing {
namespace {

std::filesystem::path fresh_path() { return gallery_store_locations().at(0).make(); }

FaceRecord face(const std::string& subject, float fill) {
  FaceRecord r;
  r.subject = subject;
  r.descriptor = {std::vector<float>(128, fill), kEmbeddingModelId};
  r.quality.sharpness = 0.5;
  r.enrolled_at_ms = 1;
  return r;
}

std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs one statement on the file with a connection of its own (what another program could do to it).
std::string sql_on(const std::filesystem::path& p, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::string out;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

void expect_unavailable(const std::function<void()>& call, const std::string& says) {
  try {
    call();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unavailable) << e.what();
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TEST(GallerySqlite, NothingIsCreatedBeforeTheFirstEnrolment) {
  const auto path = fresh_path();
  auto store = open_gallery_store(path.string());
  EXPECT_EQ(store->kind(), "sqlite");
  EXPECT_EQ(store->current_seq(), 0);
  EXPECT_TRUE(store->list_subjects("", 5).subjects.empty());
  EXPECT_FALSE(store->get_subject("a").has_value());
  EXPECT_EQ(store->delete_subject("a"), 0u);
  EXPECT_TRUE(store->load_all().added.empty());
  EXPECT_FALSE(std::filesystem::exists(path));
  store->add_face(face("a", 0.25f));
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(sql_on(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(sql_on(path, "SELECT version FROM schema_version"), "1");
}

TEST(GallerySqlite, DeletedDescriptorsLeaveNoBytesInTheFile) {
  const auto path = fresh_path();
  const float marker = 1234.5678f;  // a descriptor no other row holds
  const auto blob = descriptor_to_blob(std::vector<float>(16, marker));
  {
    auto store = open_gallery_store(path.string());
    store->add_face(face("keep", 0.25f));
    store->add_face(face("gone", marker));
    store->add_face(face("keep2", 0.5f));
  }
  ASSERT_NE(file_bytes(path).find(blob), std::string::npos) << "the descriptor is stored as its float bytes";
  {
    auto store = open_gallery_store(path.string());
    EXPECT_EQ(store->delete_subject("gone"), 1u);
  }  // the last connection checkpoints the WAL into the file and removes it
  EXPECT_FALSE(std::filesystem::exists(path.string() + "-wal"));
  EXPECT_EQ(file_bytes(path).find(blob), std::string::npos) << "secure_delete overwrote the row";
  EXPECT_EQ(open_gallery_store(path.string())->load_all().added.size(), 2u);
}

TEST(GallerySqlite, ForeignAndNewerSchemasAreRefused) {
  const auto foreign = fresh_path();
  sql_on(foreign, "CREATE TABLE invoices (id INTEGER)");
  expect_unavailable([&] { open_gallery_store(foreign.string())->current_seq(); }, "another application");
  expect_unavailable([&] { open_gallery_store(foreign.string())->add_face(face("a", 0.1f)); },
                     "another application");
  EXPECT_EQ(sql_on(foreign, "SELECT COUNT(*) FROM sqlite_schema"), "1") << "the foreign file was left alone";

  const auto newer = fresh_path();
  open_gallery_store(newer.string())->add_face(face("a", 0.1f));
  sql_on(newer, "UPDATE schema_version SET version = 99");
  expect_unavailable([&] { open_gallery_store(newer.string())->list_subjects("", 1); }, "newer");
}

TEST(GallerySqlite, DamagedFileIsUnavailableUntilRestored) {
  const auto path = fresh_path();
  auto store = open_gallery_store(path.string());
  store->add_face(face("a", 0.1f));
  const auto good = file_bytes(path);
  store.reset();
  const auto backup = path.string() + ".backup";
  std::filesystem::copy_file(path, backup);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << std::string(8192, '\x5a');
  }
  store = open_gallery_store(path.string());  // opening does not fail: the calls do
  expect_unavailable([&] { store->current_seq(); }, "damaged");
  expect_unavailable([&] { store->add_face(face("b", 0.2f)); }, "damaged");
  expect_unavailable([&] { store->list_subjects("", 1); }, "damaged");
  // Restored from the backup: the same store object works again, no restart.
  std::filesystem::copy_file(backup, path, std::filesystem::copy_options::overwrite_existing);
  EXPECT_EQ(store->load_all().added.size(), 1u);
  EXPECT_TRUE(store->get_subject("a").has_value());
}

TEST(GallerySqlite, ReadOnlyFileIsUnavailableUntilWritable) {
  const auto path = fresh_path();
  open_gallery_store(path.string())->add_face(face("a", 0.1f));
  if (!set_read_only(path, true)) GTEST_SKIP() << "cannot make " << path << " read-only here";
  auto store = open_gallery_store(path.string());
  expect_unavailable([&] { store->add_face(face("b", 0.2f)); }, "cannot be written");
  expect_unavailable([&] { store->delete_subject("a"); }, "cannot be written");
  expect_unavailable([&] { store->current_seq(); }, "cannot be written");
  ASSERT_TRUE(set_read_only(path, false));
  EXPECT_EQ(store->delete_subject("a"), 1u);
}

}  // namespace
}  // namespace facematch::testing
