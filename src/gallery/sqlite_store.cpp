// The embedded gallery: one SQLite file in WAL mode (include/facematch/gallery.hpp, GalleryStore).
//
// Schema (version 1):
//   schema_version(version)                 the one row says which migrations have run
//   change_seq(id = 1, seq)                 the change sequence; every write transaction increments it
//   subjects(id, name UNIQUE, created_at_ms)
//   faces(id AUTOINCREMENT, subject_id, model, descriptor BLOB, box_*, score, quality JSON,
//         enrolled_at_ms, label, seq)
//   deletions(face_id, seq)                 ids (nothing biometric) of deleted faces, for followers
// Writes take the database lock up front (BEGIN IMMEDIATE), so sequences commit in order.
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>

#include "facematch/error.hpp"
#include "facematch/gallery.hpp"
#include "gallery/face_rows.hpp"

namespace facematch {
namespace {

// PRAGMA application_id of a facematch gallery ("FMGL"): tells our files from other SQLite databases.
constexpr int kApplicationId = 0x464D474C;
constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 30000;

// Each entry migrates version i to i + 1 (index 0 creates the schema); run in one transaction.
const std::vector<std::vector<const char*>>& migrations() {
  static const std::vector<std::vector<const char*>> m = {
      {
          "CREATE TABLE schema_version (version INTEGER NOT NULL)",
          "INSERT INTO schema_version (version) VALUES (0)",
          "CREATE TABLE change_seq (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL)",
          "INSERT INTO change_seq (id, seq) VALUES (1, 0)",
          "CREATE TABLE subjects (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
          "created_at_ms INTEGER NOT NULL)",
          "CREATE TABLE faces (id INTEGER PRIMARY KEY AUTOINCREMENT, "
          "subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE, model TEXT NOT NULL, "
          "descriptor BLOB NOT NULL, box_x REAL NOT NULL, box_y REAL NOT NULL, box_w REAL NOT NULL, "
          "box_h REAL NOT NULL, score REAL NOT NULL, quality TEXT NOT NULL, enrolled_at_ms INTEGER NOT NULL, "
          "label TEXT, seq INTEGER NOT NULL)",
          "CREATE INDEX faces_by_subject ON faces (subject_id)",
          "CREATE INDEX faces_by_seq ON faces (seq)",
          "CREATE TABLE deletions (face_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)",
          "CREATE INDEX deletions_by_seq ON deletions (seq)",
      },
  };
  return m;
}

using gallery_rows::kFaceColumns;

class SqliteStore final : public GalleryStore {
 public:
  explicit SqliteStore(std::filesystem::path path) : path_(std::move(path)) {}
  ~SqliteStore() override { close(); }

  std::string kind() const override { return "sqlite"; }
  std::string describe() const override { return path_.string(); }

  FaceRecord add_face(const FaceRecord& face) override {
    std::lock_guard lock(mutex_);
    return guarded([&] {
      open(/*create=*/true);
      Transaction tx(*this);
      const ChangeSeq seq = next_seq();
      auto find = statement("SELECT id FROM subjects WHERE name = ?1");
      find.bind_text(1, face.subject);
      std::int64_t subject_id = 0;
      if (find.step()) {
        subject_id = find.int64(0);
      } else {
        auto insert = statement("INSERT INTO subjects (name, created_at_ms) VALUES (?1, ?2)");
        insert.bind_text(1, face.subject);
        insert.bind_int64(2, face.enrolled_at_ms);
        insert.run();
        subject_id = sqlite3_last_insert_rowid(db_);
      }
      auto insert = statement(
          "INSERT INTO faces (subject_id, model, descriptor, box_x, box_y, box_w, box_h, score, quality, "
          "enrolled_at_ms, label, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
      insert.bind_int64(1, subject_id);
      insert.bind_text(2, face.descriptor.model);
      insert.bind_blob(3, descriptor_to_blob(face.descriptor.values));
      insert.bind_double(4, face.box.x);
      insert.bind_double(5, face.box.y);
      insert.bind_double(6, face.box.width);
      insert.bind_double(7, face.box.height);
      insert.bind_double(8, face.box.score);
      insert.bind_text(9, quality_to_text(face.quality));
      insert.bind_int64(10, face.enrolled_at_ms);
      if (face.label) insert.bind_text(11, *face.label);
      insert.bind_int64(12, seq);
      insert.run();
      FaceRecord stored = face;
      stored.id = sqlite3_last_insert_rowid(db_);
      stored.seq = seq;
      tx.commit();
      return stored;
    });
  }

  SubjectPage list_subjects(std::string_view after, std::size_t limit) override {
    if (limit == 0) throw Error(ErrorCode::invalid_argument, "a page holds at least one subject");
    std::lock_guard lock(mutex_);
    return guarded([&] {
      SubjectPage page;
      if (!open(false)) return page;
      Transaction tx(*this, /*write=*/false);
      auto q = statement(
          "SELECT s.name, s.created_at_ms, (SELECT COUNT(*) FROM faces f WHERE f.subject_id = s.id) "
          "FROM subjects s WHERE s.name > ?1 ORDER BY s.name LIMIT ?2");
      q.bind_text(1, after);
      q.bind_int64(2, static_cast<std::int64_t>(limit) + 1);
      while (q.step()) {
        if (page.subjects.size() == limit) {
          page.next_after = page.subjects.back().name;
          break;
        }
        page.subjects.push_back({q.text(0), static_cast<std::size_t>(q.int64(2)), q.int64(1)});
      }
      auto count = statement("SELECT COUNT(*) FROM subjects");
      count.step();
      page.total_subjects = static_cast<std::size_t>(count.int64(0));
      tx.commit();
      return page;
    });
  }

  std::optional<SubjectRecord> get_subject(std::string_view subject) override {
    std::lock_guard lock(mutex_);
    return guarded([&]() -> std::optional<SubjectRecord> {
      if (!open(false)) return std::nullopt;
      Transaction tx(*this, false);
      auto s = statement("SELECT id, created_at_ms FROM subjects WHERE name = ?1");
      s.bind_text(1, subject);
      if (!s.step()) return std::nullopt;
      SubjectRecord r;
      r.summary.name = std::string(subject);
      r.summary.created_at_ms = s.int64(1);
      auto q = statement(std::string("SELECT ") + kFaceColumns +
                         " FROM faces f JOIN subjects s ON s.id = f.subject_id WHERE f.subject_id = ?1 "
                         "ORDER BY f.id");
      q.bind_int64(1, s.int64(0));
      while (q.step()) r.faces.push_back(face_from_row(q));
      r.summary.faces = r.faces.size();
      tx.commit();
      return r;
    });
  }

  std::size_t delete_subject(std::string_view subject) override {
    std::lock_guard lock(mutex_);
    return guarded([&]() -> std::size_t {
      if (!open(false)) return 0;
      Transaction tx(*this);
      auto s = statement("SELECT id FROM subjects WHERE name = ?1");
      s.bind_text(1, subject);
      if (!s.step()) return 0;
      const auto subject_id = s.int64(0);
      const ChangeSeq seq = next_seq();
      auto tomb = statement(
          "INSERT OR REPLACE INTO deletions (face_id, seq) SELECT id, ?2 FROM faces "
          "WHERE subject_id = ?1");
      tomb.bind_int64(1, subject_id);
      tomb.bind_int64(2, seq);
      tomb.run();
      auto del = statement("DELETE FROM faces WHERE subject_id = ?1");
      del.bind_int64(1, subject_id);
      del.run();
      const auto deleted = static_cast<std::size_t>(sqlite3_changes(db_));
      auto del_subject = statement("DELETE FROM subjects WHERE id = ?1");
      del_subject.bind_int64(1, subject_id);
      del_subject.run();
      tx.commit();
      return deleted;
    });
  }

  bool delete_face(std::string_view subject, FaceId face) override {
    std::lock_guard lock(mutex_);
    return guarded([&] {
      if (!open(false)) return false;
      Transaction tx(*this);
      auto f = statement(
          "SELECT f.subject_id FROM faces f JOIN subjects s ON s.id = f.subject_id "
          "WHERE f.id = ?1 AND s.name = ?2");
      f.bind_int64(1, face);
      f.bind_text(2, subject);
      if (!f.step()) return false;
      const auto subject_id = f.int64(0);
      const ChangeSeq seq = next_seq();
      auto tomb = statement("INSERT OR REPLACE INTO deletions (face_id, seq) VALUES (?1, ?2)");
      tomb.bind_int64(1, face);
      tomb.bind_int64(2, seq);
      tomb.run();
      auto del = statement("DELETE FROM faces WHERE id = ?1");
      del.bind_int64(1, face);
      del.run();
      auto orphan = statement(
          "DELETE FROM subjects WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM faces WHERE subject_id = ?1)");
      orphan.bind_int64(1, subject_id);
      orphan.run();
      tx.commit();
      return true;
    });
  }

  ChangeSeq current_seq() override {
    std::lock_guard lock(mutex_);
    return guarded([&]() -> ChangeSeq { return open(false) ? read_seq() : 0; });
  }

  ChangeSet load_all() override { return changes(std::nullopt); }
  ChangeSet changes_since(ChangeSeq since) override { return changes(since); }

  ChangeSeq wait_for_change(ChangeSeq known, std::chrono::milliseconds timeout) override {
    // Another process's commit leaves no signal to wait on; polling the one-row table is cheap.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const ChangeSeq seq = current_seq();
      if (seq > known || std::chrono::steady_clock::now() >= deadline) return seq;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

 private:
  // A prepared statement; every value a caller gave is bound, never spliced into SQL.
  class Statement {
   public:
    Statement(SqliteStore& store, sqlite3_stmt* stmt) : store_(store), stmt_(stmt) {}
    ~Statement() {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    void bind_text(int i, std::string_view v) {
      store_.check(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8), "bind");
    }
    void bind_blob(int i, const std::string& v) {
      store_.check(sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT), "bind");
    }
    void bind_int64(int i, std::int64_t v) { store_.check(sqlite3_bind_int64(stmt_, i, v), "bind"); }
    void bind_double(int i, double v) { store_.check(sqlite3_bind_double(stmt_, i, v), "bind"); }
    // True while a row is there.
    bool step() {
      const int rc = sqlite3_step(stmt_);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      store_.check(rc, "step");
      return false;
    }
    void run() {
      while (step()) {
      }
    }
    std::int64_t int64(int c) const { return sqlite3_column_int64(stmt_, c); }
    double real(int c) const { return sqlite3_column_double(stmt_, c); }
    bool null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
    // Byte-exact: NUL bytes and any encoding come back as stored.
    std::string text(int c) const {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, c));
      return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))) : std::string();
    }

   private:
    SqliteStore& store_;
    sqlite3_stmt* stmt_;
  };

  class Transaction {
   public:
    explicit Transaction(SqliteStore& store, bool write = true) : store_(store) {
      store_.exec(write ? "BEGIN IMMEDIATE" : "BEGIN");
    }
    ~Transaction() {
      if (!done_ && store_.db_) sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void commit() {
      store_.exec("COMMIT");
      done_ = true;
    }

   private:
    SqliteStore& store_;
    bool done_ = false;
  };

  // Runs `fn`; an unusable database closes the connection so the next call opens it afresh (a file
  // restored or made writable meanwhile is then used).
  template <typename F>
  std::invoke_result_t<F> guarded(F&& fn) {
    try {
      return fn();
    } catch (const Error& e) {
      if (e.code() == ErrorCode::unavailable) close();
      throw;
    }
  }

  [[noreturn]] void fail(int rc, const std::string& what) {
    const std::string detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    const std::string where = "the gallery file " + path_.string();
    switch (rc & 0xFF) {
      case SQLITE_CORRUPT:
      case SQLITE_NOTADB:
        throw Error(ErrorCode::unavailable, where + " is damaged or not a database (" + detail +
                                                "): restore it from a backup or move it away");
      case SQLITE_READONLY:
      case SQLITE_PERM:
        throw Error(ErrorCode::unavailable,
                    where + " cannot be written (" + detail + "): make it and its folder writable");
      case SQLITE_CANTOPEN:
        throw Error(ErrorCode::unavailable, where + " cannot be opened (" + detail +
                                                "): check that its folder exists and is writable");
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        throw Error(ErrorCode::unavailable, where + " stayed locked by another process (" + what + ": " +
                                                detail + ", code " + std::to_string(rc) + "); retry shortly");
      case SQLITE_FULL:
      case SQLITE_IOERR:
        throw Error(ErrorCode::unavailable,
                    where + " could not be read or written (" + detail + "): check the disk");
      default:
        throw Error(ErrorCode::internal, "sqlite " + what + " on " + path_.string() + ": " + detail);
    }
  }

  void check(int rc, const std::string& what) {
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) fail(rc, what);
  }

  Statement statement(const std::string& sql) {
    auto& stmt = statements_[sql];
    if (!stmt)
      check(sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr), "prepare");
    return Statement(*this, stmt);
  }

  void exec(const std::string& sql) { statement(sql).run(); }

  // True when the schema is there to be read. False when nothing was enrolled yet: the file is missing
  // or empty and `create` is false (reads then answer empty); `create` makes file and schema.
  bool open(bool create) {
    if (db_ && has_schema_) return true;
    if (!db_) {
      if (!create && !std::filesystem::exists(path_)) return false;
      const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
      const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
      if (rc != SQLITE_OK) {
        const auto detail = std::string(db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
        close();
        throw Error(ErrorCode::unavailable, "the gallery file " + path_.string() + " cannot be opened (" +
                                                detail + "): check the path and its permissions");
      }
      // SQLite opens a file it may not write read-only without a word; a gallery that cannot record
      // enrolments and deletions is unusable (a deletion could not be honoured).
      if (sqlite3_db_readonly(db_, "main") == 1) fail(SQLITE_READONLY, "open");
      sqlite3_extended_result_codes(db_, 1);
      // SQLite's busy handler retries without fairness: 4 writers of 25 fsynced enrolments each left one
      // waiting over 5 s on the shared test machine. A lock that outlasts this is answered 503.
      check(sqlite3_busy_timeout(db_, kBusyTimeoutMs), "busy_timeout");
      enable_wal();
      // Deleted rows are overwritten with zeros, not left in free pages (biometric data).
      pragma("PRAGMA secure_delete = ON", "1");
      // An acknowledged enrolment survives a crash of the process and of the machine.
      exec("PRAGMA synchronous = FULL");
      exec("PRAGMA foreign_keys = ON");
    }
    migrate(create);
    return has_schema_;
  }

  void pragma(const std::string& sql, const std::string& expected) {
    auto s = statement(sql);
    const std::string got = s.step() ? s.text(0) : std::string();
    if (got != expected)
      throw Error(ErrorCode::unavailable, "the gallery file " + path_.string() + " refused '" + sql + "' (" +
                                              got +
                                              "): it must be on a local file system that SQLite can lock");
  }

  // Switching a new file to WAL needs its exclusive lock; two connections opening it at once each hold
  // a shared lock and want it, and SQLite answers that deadlock SQLITE_BUSY at once, without the busy
  // handler (ConcurrentWritersNeverLoseAFace/sqlite aborted 1 run in 3). The loser waits and tries
  // again, as long as the busy timeout would have let it wait.
  void enable_wal() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    for (;;) {
      sqlite3_stmt* raw = nullptr;
      check(sqlite3_prepare_v2(db_, "PRAGMA journal_mode = WAL", -1, &raw, nullptr), "prepare");
      const int rc = sqlite3_step(raw);
      const std::string mode =
          rc == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(raw, 0)) : std::string();
      sqlite3_finalize(raw);
      if ((rc & 0xFF) == SQLITE_BUSY && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      if (rc != SQLITE_ROW) check(rc, "journal_mode");
      if (mode != "wal")
        throw Error(ErrorCode::unavailable, "the gallery file " + path_.string() +
                                                " refused 'PRAGMA journal_mode = WAL' (" + mode +
                                                "): it must be on a local file system that SQLite can lock");
      return;
    }
  }

  int user_table_count() {
    auto s =
        statement("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
    s.step();
    return static_cast<int>(s.int64(0));
  }

  int stored_version() {
    auto v = statement("SELECT version FROM schema_version");
    if (!v.step())
      throw Error(ErrorCode::unavailable,
                  "the gallery file " + path_.string() + " has no schema version: restore it from a backup");
    return static_cast<int>(v.int64(0));
  }

  // Checks the schema and brings it to kSchemaVersion; an empty database only gets one when `create`
  // (the first enrolment). Sets has_schema_.
  void migrate(bool create) {
    const std::string where = "the gallery file " + path_.string();
    int app_id = 0, tables = 0, version = 0;
    {
      // One snapshot: read one at a time, another connection's first migration could commit between
      // the id and the table count, and a facematch file would look like another application's.
      Transaction read(*this, /*write=*/false);
      {
        auto s = statement("PRAGMA application_id");
        if (s.step()) app_id = static_cast<int>(s.int64(0));
      }
      tables = user_table_count();
      if (app_id == kApplicationId) version = stored_version();
      read.commit();
    }
    if (app_id == 0 && tables == 0) {
      if (!create) return;
    } else if (app_id != kApplicationId) {
      throw Error(ErrorCode::unavailable,
                  where + " is an SQLite database of another application: give --gallery a new file");
    }
    if (version > kSchemaVersion)
      throw Error(ErrorCode::unavailable, where + " has schema version " + std::to_string(version) +
                                              ", newer than this facematch understands (" +
                                              std::to_string(kSchemaVersion) + "): upgrade facematch");
    if (version < kSchemaVersion) {
      Transaction tx(*this);
      // Another process may have migrated between the check and the lock.
      version = app_id == kApplicationId || user_table_count() > 0 ? stored_version() : 0;
      for (; version < kSchemaVersion; ++version)
        for (const char* sql : migrations().at(static_cast<std::size_t>(version))) exec(sql);
      auto v = statement("UPDATE schema_version SET version = ?1");
      v.bind_int64(1, kSchemaVersion);
      v.run();
      exec("PRAGMA application_id = " + std::to_string(kApplicationId));
      tx.commit();
    }
    has_schema_ = true;
  }

  ChangeSeq read_seq() {
    auto s = statement("SELECT seq FROM change_seq WHERE id = 1");
    return s.step() ? s.int64(0) : 0;
  }

  ChangeSeq next_seq() {
    exec("UPDATE change_seq SET seq = seq + 1 WHERE id = 1");
    return read_seq();
  }

  static FaceRecord face_from_row(const Statement& q) { return gallery_rows::face_from_row(q); }

  ChangeSet changes(std::optional<ChangeSeq> since) {
    std::lock_guard lock(mutex_);
    return guarded([&] {
      ChangeSet cs;
      if (!open(false)) return cs;
      Transaction tx(*this, false);  // one snapshot: the sequence and the rows agree
      cs.seq = read_seq();
      auto q =
          statement(std::string("SELECT ") + kFaceColumns +
                    " FROM faces f JOIN subjects s ON s.id = f.subject_id WHERE f.seq > ?1 ORDER BY f.id");
      q.bind_int64(1, since.value_or(-1));
      while (q.step()) cs.added.push_back(face_from_row(q));
      if (since) {
        auto d = statement("SELECT face_id FROM deletions WHERE seq > ?1");
        d.bind_int64(1, *since);
        while (d.step()) cs.removed.push_back(d.int64(0));
      }
      tx.commit();
      return cs;
    });
  }

  void close() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
    has_schema_ = false;
  }

  std::filesystem::path path_;
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  bool has_schema_ = false;
  std::map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

std::unique_ptr<GalleryStore> open_sqlite_store(const std::filesystem::path& path) {
  return std::make_unique<SqliteStore>(path);
}

}  // namespace facematch
