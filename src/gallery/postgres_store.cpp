// The shared gallery: a PostgreSQL database that several `facematch serve` replicas use at once
// (include/facematch/gallery.hpp, GalleryStore), through libpq.
//
// Schema (version 1), tables prefixed so a database can hold other applications' tables too:
//   facematch_schema(version)                 the one row says which migrations have run
//   facematch_change_seq(id = 1, seq)         the change sequence; every write transaction increments it
//   facematch_subjects(id, name UNIQUE, created_at_ms)
//   facematch_faces(id, subject_id, model, descriptor bytea, box_*, score, quality JSON text,
//                   enrolled_at_ms, label, seq)
//   facematch_deletions(face_id, seq)         ids (nothing biometric) of deleted faces, for followers
//
// Ordering: a write transaction's first statement increments the single change_seq row, so its row lock
// serialises writers and sequences commit in order; readers take one REPEATABLE READ snapshot, in which
// every change up to the sequence they read is visible. Each write also sends NOTIFY on
// the channel facematch_gallery with its sequence, which wait_for_change() LISTENs for.
//
// Threads: a pool of up to kPoolSize connections, each used by one call at a time (calls beyond that
// wait for a free one), plus one LISTEN connection behind its own mutex. A connection found broken is
// dropped and the next call connects again, so a server that comes back is used without a restart.
//
// Every value a caller gives goes as a parameter of a prepared statement (binary format), never into
// SQL text.
#include "gallery/postgres_store.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "facematch/error.hpp"
#include "facematch/gallery.hpp"
#include "gallery/face_rows.hpp"

namespace facematch {
namespace {

constexpr int kSchemaVersion = 1;
constexpr std::size_t kPoolSize = 4;
// pg_advisory_xact_lock key that serialises migrations of replicas starting together ("FMGL").
constexpr std::int64_t kMigrationLock = 0x464D474C;

// Type OIDs of the parameters we send (fixed in PostgreSQL's catalogue, pg_type.h).
constexpr Oid kInt8 = 20;
constexpr Oid kText = 25;
constexpr Oid kFloat8 = 701;
constexpr Oid kBytea = 17;

// Each entry migrates version i to i + 1 (index 0 creates the schema); run in one transaction.
const std::vector<std::vector<const char*>>& migrations() {
  static const std::vector<std::vector<const char*>> m = {
      {
          "CREATE TABLE facematch_change_seq (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL)",
          "INSERT INTO facematch_change_seq (id, seq) VALUES (1, 0)",
          "CREATE TABLE facematch_subjects (id bigserial PRIMARY KEY, name text COLLATE \"C\" NOT NULL "
          "UNIQUE, "
          "created_at_ms bigint NOT NULL)",
          "CREATE TABLE facematch_faces (id bigserial PRIMARY KEY, "
          "subject_id bigint NOT NULL REFERENCES facematch_subjects(id) ON DELETE CASCADE, model text NOT "
          "NULL, "
          "descriptor bytea NOT NULL, box_x float8 NOT NULL, box_y float8 NOT NULL, box_w float8 NOT NULL, "
          "box_h float8 NOT NULL, score float8 NOT NULL, quality text NOT NULL, enrolled_at_ms bigint NOT "
          "NULL, "
          "label text, seq bigint NOT NULL)",
          "CREATE INDEX facematch_faces_by_subject ON facematch_faces (subject_id)",
          "CREATE INDEX facematch_faces_by_seq ON facematch_faces (seq)",
          "CREATE TABLE facematch_deletions (face_id bigint PRIMARY KEY, seq bigint NOT NULL)",
          "CREATE INDEX facematch_deletions_by_seq ON facematch_deletions (seq)",
      },
  };
  return m;
}

// A statement prepared once per connection under `name`.
struct Sql {
  const char* name;
  const char* text;
  std::vector<Oid> types;
};

using gallery_rows::kFaceColumns;

std::string face_query(const char* where) {
  std::string s = "SELECT ";
  s += kFaceColumns;
  s += " FROM facematch_faces f JOIN facematch_subjects s ON s.id = f.subject_id ";
  s += where;
  return s;
}

const Sql kCurrentSeq{"current_seq", "SELECT seq FROM facematch_change_seq WHERE id = 1", {}};
const Sql kNextSeq{
    "next_seq", "UPDATE facematch_change_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq", {}};
const Sql kNotify{"notify", "SELECT pg_notify('facematch_gallery', $1::text)", {kInt8}};
const Sql kUpsertSubject{"upsert_subject",
                         "INSERT INTO facematch_subjects (name, created_at_ms) VALUES ($1, $2) "
                         "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                         {kText, kInt8}};
const Sql kInsertFace{
    "insert_face",
    "INSERT INTO facematch_faces (subject_id, model, descriptor, box_x, box_y, box_w, box_h, "
    "score, quality, enrolled_at_ms, label, seq) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    {kInt8, kText, kBytea, kFloat8, kFloat8, kFloat8, kFloat8, kFloat8, kText, kInt8, kText, kInt8}};
const Sql kListSubjects{"list_subjects",
                        "SELECT s.name, s.created_at_ms, "
                        "(SELECT COUNT(*) FROM facematch_faces f WHERE f.subject_id = s.id) "
                        "FROM facematch_subjects s WHERE s.name > $1 ORDER BY s.name LIMIT $2",
                        {kText, kInt8}};
const Sql kCountSubjects{"count_subjects", "SELECT COUNT(*) FROM facematch_subjects", {}};
const Sql kFindSubject{
    "find_subject", "SELECT id, created_at_ms FROM facematch_subjects WHERE name = $1", {kText}};
const std::string kSubjectFacesText = face_query("WHERE f.subject_id = $1 ORDER BY f.id");
const Sql kSubjectFaces{"subject_faces", kSubjectFacesText.c_str(), {kInt8}};
const Sql kDeleteSubjectFaces{"delete_subject_faces",
                              "WITH gone AS (DELETE FROM facematch_faces f USING facematch_subjects s "
                              "WHERE f.subject_id = s.id AND s.name = $1 RETURNING f.id) "
                              "INSERT INTO facematch_deletions (face_id, seq) SELECT id, $2 FROM gone "
                              "ON CONFLICT (face_id) DO UPDATE SET seq = EXCLUDED.seq",
                              {kText, kInt8}};
const Sql kDeleteSubject{"delete_subject", "DELETE FROM facematch_subjects WHERE name = $1", {kText}};
const Sql kDeleteFace{"delete_face",
                      "WITH gone AS (DELETE FROM facematch_faces f USING facematch_subjects s "
                      "WHERE f.subject_id = s.id AND f.id = $1 AND s.name = $2 RETURNING f.id) "
                      "INSERT INTO facematch_deletions (face_id, seq) SELECT id, $3 FROM gone "
                      "ON CONFLICT (face_id) DO UPDATE SET seq = EXCLUDED.seq",
                      {kInt8, kText, kInt8}};
const Sql kDeleteOrphan{"delete_orphan",
                        "DELETE FROM facematch_subjects s WHERE s.name = $1 AND NOT EXISTS "
                        "(SELECT 1 FROM facematch_faces f WHERE f.subject_id = s.id)",
                        {kText}};
const std::string kFacesSinceText = face_query("WHERE f.seq > $1 ORDER BY f.id");
const Sql kFacesSince{"faces_since", kFacesSinceText.c_str(), {kInt8}};
const Sql kDeletionsSince{
    "deletions_since", "SELECT face_id FROM facematch_deletions WHERE seq > $1", {kInt8}};
const Sql kMigrationLockSql{"migration_lock", "SELECT pg_advisory_xact_lock($1)", {kInt8}};
// pg_class itself, not to_regclass(): after waiting for the migration lock, the catalogue caches of
// this backend may not yet know a table that the replica holding it created, while a query reads the
// catalogue with a fresh snapshot.
const Sql kSchemaTable{"schema_table",
                       "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'facematch_schema' "
                       "AND relnamespace = current_schema()::regnamespace), "
                       "EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'facematch_faces' "
                       "AND relnamespace = current_schema()::regnamespace)",
                       {}};
const Sql kSchemaVersionSql{"schema_version", "SELECT version FROM facematch_schema", {}};
const Sql kSetSchemaVersion{"set_schema_version", "UPDATE facematch_schema SET version = $1", {kInt8}};

// Parameters in binary format: integers and doubles big-endian, text and bytea as their bytes.
class Params {
 public:
  Params& int64(std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    std::string b(8, '\0');
    for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<char>(u >> (56 - 8 * i));
    return add(std::move(b));
  }
  Params& float8(double v) { return int64(std::bit_cast<std::int64_t>(v)); }
  Params& text(std::string_view v) { return add(std::string(v)); }
  Params& optional_text(const std::optional<std::string>& v) {
    if (v) return text(*v);
    storage_.emplace_back();
    null_.push_back(true);
    return *this;
  }

  int size() const { return static_cast<int>(storage_.size()); }
  // Pointers into storage_: taken only when every parameter is added.
  void finish() {
    values_.clear();
    lengths_.clear();
    for (std::size_t i = 0; i < storage_.size(); ++i) {
      values_.push_back(null_[i] ? nullptr : storage_[i].data());
      lengths_.push_back(static_cast<int>(storage_[i].size()));
    }
    formats_.assign(storage_.size(), 1);
  }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  Params& add(std::string bytes) {
    storage_.push_back(std::move(bytes));
    null_.push_back(false);
    return *this;
  }
  std::vector<std::string> storage_;
  std::vector<bool> null_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// A result in binary format; its columns are read by the type the query gives them.
class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() {
    if (r_) PQclear(r_);
  }
  Result(Result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  int rows() const { return PQntuples(r_); }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col) == 1; }
  std::string bytes(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col)));
  }
  std::int64_t int64(int row, int col) const {
    const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col));
    const int n = PQgetlength(r_, row, col);
    std::uint64_t u = 0;
    for (int i = 0; i < n; ++i) u = (u << 8) | p[i];
    // int4 (4 bytes) sign-extends; int8 fills all 64 bits.
    if (n == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(u));
    return static_cast<std::int64_t>(u);
  }
  double float8(int row, int col) const { return std::bit_cast<double>(int64(row, col)); }
  bool boolean(int row, int col) const { return PQgetvalue(r_, row, col)[0] != 0; }
  std::int64_t affected() const {
    const char* n = PQcmdTuples(r_);
    return n && *n ? std::stoll(n) : 0;
  }

 private:
  PGresult* r_;
};

struct Connection {
  PGconn* conn = nullptr;
  std::set<std::string> prepared;
  ~Connection() {
    if (conn) PQfinish(conn);
  }
};

class PostgresStore final : public GalleryStore {
 public:
  explicit PostgresStore(std::string uri) : uri_(std::move(uri)), description_(describe_uri(uri_)) {}

  std::string kind() const override { return "postgresql"; }
  std::string describe() const override { return description_; }

  FaceRecord add_face(const FaceRecord& face) override {
    return *write([&](Connection& c) -> std::optional<FaceRecord> {
      const ChangeSeq seq = run(c, kNextSeq, Params()).int64(0, 0);
      const auto subject_id =
          run(c, kUpsertSubject, Params().text(face.subject).int64(face.enrolled_at_ms)).int64(0, 0);
      Params p;
      p.int64(subject_id)
          .text(face.descriptor.model)
          .text(descriptor_to_blob(face.descriptor.values))
          .float8(face.box.x)
          .float8(face.box.y)
          .float8(face.box.width)
          .float8(face.box.height)
          .float8(face.box.score)
          .text(quality_to_text(face.quality))
          .int64(face.enrolled_at_ms)
          .optional_text(face.label)
          .int64(seq);
      FaceRecord stored = face;
      stored.id = run(c, kInsertFace, std::move(p)).int64(0, 0);
      stored.seq = seq;
      run(c, kNotify, Params().int64(seq));
      return stored;
    });
  }

  SubjectPage list_subjects(std::string_view after, std::size_t limit) override {
    if (limit == 0) throw Error(ErrorCode::invalid_argument, "a page holds at least one subject");
    return snapshot([&](Connection& c) {
      SubjectPage page;
      const Result r =
          run(c, kListSubjects, Params().text(after).int64(static_cast<std::int64_t>(limit) + 1));
      for (int i = 0; i < r.rows(); ++i) {
        if (page.subjects.size() == limit) {
          page.next_after = page.subjects.back().name;
          break;
        }
        page.subjects.push_back({r.bytes(i, 0), static_cast<std::size_t>(r.int64(i, 2)), r.int64(i, 1)});
      }
      page.total_subjects = static_cast<std::size_t>(run(c, kCountSubjects, Params()).int64(0, 0));
      return page;
    });
  }

  std::optional<SubjectRecord> get_subject(std::string_view subject) override {
    return snapshot([&](Connection& c) -> std::optional<SubjectRecord> {
      const Result s = run(c, kFindSubject, Params().text(subject));
      if (s.rows() == 0) return std::nullopt;
      SubjectRecord record;
      record.summary.name = std::string(subject);
      record.summary.created_at_ms = s.int64(0, 1);
      const Result faces = run(c, kSubjectFaces, Params().int64(s.int64(0, 0)));
      for (int i = 0; i < faces.rows(); ++i) record.faces.push_back(face_from_row(faces, i));
      record.summary.faces = record.faces.size();
      return record;
    });
  }

  std::size_t delete_subject(std::string_view subject) override {
    const auto deleted = write([&](Connection& c) -> std::optional<std::size_t> {
      const ChangeSeq seq = run(c, kNextSeq, Params()).int64(0, 0);
      const auto faces = run(c, kDeleteSubjectFaces, Params().text(subject).int64(seq)).affected();
      const auto subjects = run(c, kDeleteSubject, Params().text(subject)).affected();
      if (faces == 0 && subjects == 0) return std::nullopt;  // nothing changed: roll back the sequence
      run(c, kNotify, Params().int64(seq));
      return static_cast<std::size_t>(faces);
    });
    return deleted.value_or(0);
  }

  bool delete_face(std::string_view subject, FaceId face) override {
    return write([&](Connection& c) -> std::optional<bool> {
             const ChangeSeq seq = run(c, kNextSeq, Params()).int64(0, 0);
             if (run(c, kDeleteFace, Params().int64(face).text(subject).int64(seq)).affected() == 0)
               return std::nullopt;
             run(c, kDeleteOrphan, Params().text(subject));
             run(c, kNotify, Params().int64(seq));
             return true;
           })
        .value_or(false);
  }

  ChangeSeq current_seq() override {
    return with_connection([&](Connection& c) { return run(c, kCurrentSeq, Params()).int64(0, 0); });
  }

  ChangeSet load_all() override { return changes(std::nullopt); }
  ChangeSet changes_since(ChangeSeq since) override { return changes(since); }

  ChangeSeq wait_for_change(ChangeSeq known, std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(listen_mutex_);
    // LISTEN before reading the sequence: a change committed in between is then announced, not lost.
    listen();
    ChangeSeq seq = current_seq();
    while (seq <= known) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd fd{PQsocket(listener_->conn), POLLIN, 0};
      const int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      if (PQconsumeInput(listener_->conn) == 0) {
        const std::string detail = PQerrorMessage(listener_->conn);
        listener_.reset();
        throw unavailable(detail);
      }
      bool announced = false;
      while (PGnotify* n = PQnotifies(listener_->conn)) {
        announced = true;
        PQfreemem(n);
      }
      if (announced) seq = current_seq();
    }
    return seq;
  }

 private:
  // ---- connections -----------------------------------------------------------------------------

  static std::string describe_uri(const std::string& uri) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
    if (!options) {
      const std::string detail = error ? error : "malformed";
      if (error) PQfreemem(error);
      throw Error(ErrorCode::invalid_argument, "the gallery location is not a valid PostgreSQL URI (" +
                                                   detail + "): write postgresql://USER@HOST:PORT/DATABASE");
    }
    std::string user, host, port, db;
    for (auto* o = options; o->keyword; ++o) {
      if (!o->val) continue;
      const std::string_view k = o->keyword;
      if (k == "user") user = o->val;
      if (k == "host" || (k == "hostaddr" && host.empty())) host = o->val;
      if (k == "port") port = o->val;
      if (k == "dbname") db = o->val;
    }
    PQconninfoFree(options);
    std::string s = "postgresql://";
    if (!user.empty()) s += user + "@";
    s += host.empty() ? "localhost" : host;
    if (!port.empty()) s += ":" + port;
    s += "/" + db;
    return s;  // never the password
  }

  // libpq's messages span lines (ERROR, DETAIL, CONTEXT); an answer and a log line want one.
  static std::string one_line(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    std::replace_if(
        s.begin(), s.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
    return s;
  }

  Error unavailable(const std::string& detail) const {
    return Error(ErrorCode::unavailable, "the PostgreSQL gallery " + description_ + " is unavailable (" +
                                             one_line(detail) +
                                             "): check that the server is running and reachable; facematch "
                                             "reconnects by itself when it is back");
  }

  std::unique_ptr<Connection> connect() {
    // Our defaults come before the URI's keywords so that the URI can override them; the timeouts bound
    // how long a call waits for a server that is unreachable rather than down.
    const std::array<const char*, 8> keys = {"connect_timeout",
                                             "keepalives_idle",
                                             "keepalives_interval",
                                             "keepalives_count",
                                             "tcp_user_timeout",
                                             "application_name",
                                             "dbname",
                                             nullptr};
    const std::array<const char*, 8> values = {"5",     "10",        "5",          "3",
                                               "15000", "facematch", uri_.c_str(), nullptr};
    auto c = std::make_unique<Connection>();
    c->conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
    if (!c->conn) throw Error(ErrorCode::internal, "libpq could not allocate a connection");
    if (PQstatus(c->conn) != CONNECTION_OK) throw unavailable(PQerrorMessage(c->conn));
    check(*c, PQexec(c->conn, "SET client_encoding = 'UTF8'"), "set client_encoding");
    const char* encoding = PQparameterStatus(c->conn, "server_encoding");
    if (!encoding || std::string_view(encoding) != "UTF8")
      throw Error(
          ErrorCode::unavailable,
          "the PostgreSQL gallery " + description_ + " uses encoding " + (encoding ? encoding : "?") +
              ": labels are stored verbatim only in a UTF8 database (CREATE DATABASE ... ENCODING 'UTF8')");
    migrate(*c);
    return c;
  }

  // A server that closed the connection (a restart, an administrator's terminate) has left its last
  // message and EOF on the socket: the first read takes the message, the second meets the EOF. Neither
  // blocks (libpq's sockets are non-blocking).
  static bool alive(Connection& c) {
    return PQconsumeInput(c.conn) == 1 && PQconsumeInput(c.conn) == 1 && PQstatus(c.conn) == CONNECTION_OK;
  }

  // A live connection from the pool (broken ones are dropped), else a new one; waits while kPoolSize
  // connections are in use.
  std::unique_ptr<Connection> acquire() {
    {
      std::unique_lock lock(pool_mutex_);
      pool_cv_.wait(lock, [&] { return !idle_.empty() || open_ < kPoolSize; });
      while (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        if (alive(*c)) return c;
        --open_;  // broken: dropped (its destructor closes it)
      }
      ++open_;
    }
    try {
      return connect();
    } catch (...) {
      release(nullptr);
      throw;
    }
  }

  // Returns `c` to the pool, or frees its slot when it is broken or null.
  void release(std::unique_ptr<Connection> c) {
    {
      std::lock_guard lock(pool_mutex_);
      if (c && PQstatus(c->conn) == CONNECTION_OK && PQtransactionStatus(c->conn) == PQTRANS_IDLE) {
        idle_.push_back(std::move(c));
      } else {
        --open_;
      }
    }
    pool_cv_.notify_one();
  }

  template <typename F>
  std::invoke_result_t<F&, Connection&> with_connection(F&& fn) {
    auto c = acquire();
    try {
      auto result = fn(*c);
      release(std::move(c));
      return result;
    } catch (...) {
      if (PQtransactionStatus(c->conn) != PQTRANS_IDLE) PQclear(PQexec(c->conn, "ROLLBACK"));
      release(std::move(c));
      throw;
    }
  }

  // `fn` inside one transaction; committed when it returns a value, rolled back when it returns
  // nothing (no change) or throws.
  template <typename F>
  std::invoke_result_t<F&, Connection&> write(F&& fn) {
    return with_connection([&](Connection& c) {
      exec(c, "BEGIN");
      auto result = fn(c);
      exec(c, result ? "COMMIT" : "ROLLBACK");
      return result;
    });
  }

  // `fn` inside one read-only snapshot.
  template <typename F>
  std::invoke_result_t<F&, Connection&> snapshot(F&& fn) {
    return with_connection([&](Connection& c) {
      exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      auto result = fn(c);
      exec(c, "COMMIT");
      return result;
    });
  }

  // ---- statements ------------------------------------------------------------------------------

  // Throws for a failed result: Error{unavailable} when the connection or the server is the cause.
  Result check(Connection& c, PGresult* raw, const std::string& what) const {
    Result r(raw);
    const auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    const std::string detail = raw ? PQresultErrorMessage(raw) : PQerrorMessage(c.conn);
    const char* state_p = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
    const std::string state = state_p ? state_p : "";
    if (PQstatus(c.conn) != CONNECTION_OK || state.empty() || state.starts_with("08") ||
        state.starts_with("57P") || state.starts_with("53") || state == "25006" || state.starts_with("42501"))
      throw unavailable(detail);
    if (state.starts_with("22"))
      throw Error(ErrorCode::invalid_argument,
                  "the PostgreSQL gallery refused a value (" + one_line(detail) + ")");
    throw Error(ErrorCode::internal, "PostgreSQL gallery: " + what + " failed: " + one_line(detail));
  }

  void exec(Connection& c, const char* sql) { check(c, PQexec(c.conn, sql), sql); }

  Result run(Connection& c, const Sql& sql, Params params) {
    if (!c.prepared.contains(sql.name)) {
      check(c,
            PQprepare(c.conn, sql.name, sql.text, static_cast<int>(sql.types.size()),
                      sql.types.empty() ? nullptr : sql.types.data()),
            std::string("prepare ") + sql.name);
      c.prepared.insert(sql.name);
    }
    params.finish();
    return check(c,
                 PQexecPrepared(c.conn, sql.name, params.size(), params.values(), params.lengths(),
                                params.formats(), /*resultFormat=*/1),
                 sql.name);
  }

  // ---- schema ----------------------------------------------------------------------------------

  // Checks the schema on every new connection (a database restored or upgraded meanwhile is noticed)
  // and brings it to kSchemaVersion under an advisory lock, so replicas starting together migrate once.
  void migrate(Connection& c) {
    const std::string where = "the PostgreSQL gallery " + description_;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const Result t = run(c, kSchemaTable, Params());
      const bool has_schema_table = t.boolean(0, 0);
      if (!has_schema_table && t.boolean(0, 1))
        throw Error(ErrorCode::unavailable,
                    where + " has facematch tables but no schema version: restore it from a backup");
      int version = 0;
      if (has_schema_table) {
        const Result v = run(c, kSchemaVersionSql, Params());
        if (v.rows() != 1)
          throw Error(ErrorCode::unavailable, where + " has no schema version row: restore it from a backup");
        version = static_cast<int>(v.int64(0, 0));
      }
      if (version > kSchemaVersion)
        throw Error(ErrorCode::unavailable, where + " has schema version " + std::to_string(version) +
                                                ", newer than this facematch understands (" +
                                                std::to_string(kSchemaVersion) + "): upgrade facematch");
      if (version == kSchemaVersion) return;
      if (attempt == 1) break;
      exec(c, "BEGIN");
      run(c, kMigrationLockSql, Params().int64(kMigrationLock));
      // Another replica may have migrated between the check and the lock: read again under the lock.
      const Result again = run(c, kSchemaTable, Params());
      int locked_version = 0;
      if (again.boolean(0, 0)) {
        locked_version = static_cast<int>(run(c, kSchemaVersionSql, Params()).int64(0, 0));
      } else {
        exec(c, "CREATE TABLE facematch_schema (version integer NOT NULL)");
        exec(c, "INSERT INTO facematch_schema (version) VALUES (0)");
      }
      for (int v = locked_version; v < kSchemaVersion; ++v)
        for (const char* sql : migrations().at(static_cast<std::size_t>(v))) exec(c, sql);
      if (locked_version < kSchemaVersion) run(c, kSetSchemaVersion, Params().int64(kSchemaVersion));
      exec(c, "COMMIT");
    }
    throw Error(ErrorCode::internal, where + ": the schema migration did not take effect");
  }

  // ---- rows ------------------------------------------------------------------------------------

  // Row i of `r` as gallery_rows::face_from_row reads rows.
  struct RowOf {
    const Result& r;
    int i;
    std::string text(int c) const { return r.bytes(i, c); }
    double real(int c) const { return r.float8(i, c); }
    std::int64_t int64(int c) const { return r.int64(i, c); }
    bool null(int c) const { return r.null(i, c); }
  };
  static FaceRecord face_from_row(const Result& r, int i) { return gallery_rows::face_from_row(RowOf{r, i}); }

  ChangeSet changes(std::optional<ChangeSeq> since) {
    return snapshot([&](Connection& c) {
      ChangeSet cs;
      cs.seq = run(c, kCurrentSeq, Params()).int64(0, 0);
      const Result faces = run(c, kFacesSince, Params().int64(since.value_or(-1)));
      cs.added.reserve(static_cast<std::size_t>(faces.rows()));
      for (int i = 0; i < faces.rows(); ++i) cs.added.push_back(face_from_row(faces, i));
      if (since) {
        const Result d = run(c, kDeletionsSince, Params().int64(*since));
        for (int i = 0; i < d.rows(); ++i) cs.removed.push_back(d.int64(i, 0));
      }
      return cs;
    });
  }

  // The LISTEN connection (listen_mutex_ held), connected again after a loss.
  void listen() {
    if (listener_ && alive(*listener_)) return;
    listener_.reset();
    auto c = connect();
    exec(*c, "LISTEN facematch_gallery");
    listener_ = std::move(c);
  }

  const std::string uri_;
  const std::string description_;

  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // connections out of the pool plus idle ones

  std::mutex listen_mutex_;
  std::unique_ptr<Connection> listener_;
};

}  // namespace

std::unique_ptr<GalleryStore> open_postgres_store(const std::string& uri) {
  return std::make_unique<PostgresStore>(uri);
}

}  // namespace facematch
