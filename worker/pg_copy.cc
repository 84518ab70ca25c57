#include "worker/pg_copy.h"

#include "common/time.h"

#include <libpq-fe.h>
#include <pqxx/largeobject>
#include <pqxx/pqxx>

#include <algorithm>
#include <bit>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace fourkeys::worker {
namespace {

// Binary COPY counts times from 2000-01-01 UTC.
constexpr std::int64_t kPostgresEpochMillis = 946'684'800'000;
constexpr std::int64_t kPostgresEpochDays = 10'957;  // 2000-01-01 in days since 1970-01-01
constexpr std::uint32_t kTextOid = 25;
constexpr std::uint32_t kInt4Oid = 23;
constexpr std::uint32_t kFloat8Oid = 701;
constexpr std::uint32_t kTimestamptzOid = 1184;
// A field's length is an int32; the receiver's body limit keeps every
// field far below it.
constexpr std::size_t kMaxField = std::numeric_limits<std::int32_t>::max();

// libpqxx 6 sends COPY in the text format only. The transaction's libpq
// connection is reached through pqxx::largeobject, which gives it to its
// subclasses; libpqxx is not told of the COPY, which starts and ends
// between two of its statements.
PGconn* connection_of(pqxx::transaction_base& tx) {
  struct Access : pqxx::largeobject {
    static PGconn* of(const pqxx::dbtransaction& t) { return raw_connection(t); }
  };
  const auto* db = dynamic_cast<const pqxx::dbtransaction*>(&tx);
  if (db == nullptr) throw std::logic_error("a binary COPY needs a database transaction");
  return Access::of(*db);
}

struct ServerError {
  std::string message;
  std::string sqlstate;
};

ServerError error_of(PGconn* conn, const PGresult* result) {
  ServerError error;
  error.message = result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  if (error.message.empty()) error.message = PQerrorMessage(conn);
  if (result != nullptr) {
    if (const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE)) error.sqlstate = state;
  }
  return error;
}

// The exception libpqxx would throw for the same failure of a statement.
[[noreturn]] void raise(PGconn* conn, const ServerError& error, const std::string& statement) {
  if (PQstatus(conn) == CONNECTION_BAD) throw pqxx::broken_connection(error.message);
  const char* state = error.sqlstate.empty() ? nullptr : error.sqlstate.c_str();
  if (error.sqlstate == "23505") throw pqxx::unique_violation(error.message, statement, state);
  throw pqxx::sql_error(error.message, statement, state);
}

std::string copy_statement(const std::string& table, const std::vector<std::string>& columns) {
  std::string statement = "COPY " + table + " (";
  for (std::size_t i = 0; i < columns.size(); ++i) statement += (i ? ", " : "") + columns[i];
  return statement + ") FROM STDIN (FORMAT binary)";
}

// The signature, the flags (no OIDs) and an empty header extension.
constexpr char kHeader[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
constexpr std::size_t kHeaderBytes = 11 + 4 + 4;
constexpr char kTrailer[] = "\377\377";  // a field count of -1

}  // namespace

// ---- CopyRows ---------------------------------------------------------------

void CopyRows::put16(std::uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  data_.append(b, 2);
}

void CopyRows::put32(std::uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  data_.append(b, 4);
}

void CopyRows::put64(std::uint64_t v) {
  put32(static_cast<std::uint32_t>(v >> 32));
  put32(static_cast<std::uint32_t>(v));
}

void CopyRows::begin_field() {
  if (!row_open_) {
    row_start_ = data_.size();
    put16(0);  // the field count, set by end_row()
    fields_ = 0;
    row_open_ = true;
  }
  ++fields_;
}

CopyRows& CopyRows::text(std::string_view value) {
  if (value.size() > kMaxField) throw std::length_error("a COPY field over 2 GB");
  begin_field();
  put32(static_cast<std::uint32_t>(value.size()));
  data_.append(value);
  return *this;
}

CopyRows& CopyRows::text_or_null(std::string_view value) { return value.empty() ? null() : text(value); }

CopyRows& CopyRows::null() {
  begin_field();
  put32(0xFFFF'FFFF);  // length -1
  return *this;
}

CopyRows& CopyRows::int4(std::int32_t value) {
  begin_field();
  put32(4);
  put32(static_cast<std::uint32_t>(value));
  return *this;
}

CopyRows& CopyRows::int8(std::int64_t value) {
  begin_field();
  put32(8);
  put64(static_cast<std::uint64_t>(value));
  return *this;
}

CopyRows& CopyRows::float8(double value) {
  begin_field();
  put32(8);
  put64(std::bit_cast<std::uint64_t>(value));
  return *this;
}

CopyRows& CopyRows::float8(const std::optional<double>& value) { return value ? float8(*value) : null(); }

CopyRows& CopyRows::boolean(bool value) {
  begin_field();
  put32(1);
  data_ += value ? '\1' : '\0';
  return *this;
}

std::uint32_t CopyRows::text_type() { return kTextOid; }
std::uint32_t CopyRows::time_type() { return kTimestamptzOid; }
std::uint32_t CopyRows::float8_type() { return kFloat8Oid; }

std::int64_t CopyRows::postgres_micros(Millis value) {
  std::int64_t micros = 0;
  if (__builtin_sub_overflow(value, kPostgresEpochMillis, &micros) || __builtin_mul_overflow(micros, 1000, &micros)) {
    throw std::out_of_range("a time Postgres cannot hold");
  }
  return micros;
}

CopyRows& CopyRows::time(Millis value) {
  const std::int64_t micros = postgres_micros(value);
  begin_field();
  put32(8);
  put64(static_cast<std::uint64_t>(micros));
  return *this;
}

CopyRows& CopyRows::time(const std::optional<Millis>& value) { return value ? time(*value) : null(); }

CopyRows& CopyRows::date(std::string_view text) {
  int y = 0;
  unsigned m = 0, d = 0;
  const char* end = text.data() + text.size();
  const bool shaped = text.size() == 10 && text[4] == '-' && text[7] == '-' &&
                      std::from_chars(text.data(), text.data() + 4, y).ptr == text.data() + 4 &&
                      std::from_chars(text.data() + 5, text.data() + 7, m).ptr == text.data() + 7 &&
                      std::from_chars(text.data() + 8, end, d).ptr == end;
  if (!shaped || m < 1 || m > 12 || d < 1 || d > 31) throw std::invalid_argument("not a YYYY-MM-DD date");
  begin_field();
  put32(4);
  put32(static_cast<std::uint32_t>(static_cast<std::int32_t>(days_from_civil(y, m, d) - kPostgresEpochDays)));
  return *this;
}

void CopyRows::begin_array(std::uint32_t element_type, std::size_t count, std::size_t element_bytes,
                           bool has_nulls) {
  // Dimensions, a has-nulls flag, the element type, then each dimension's
  // length and lower bound; an empty array has no dimensions.
  const std::size_t bytes = (count == 0 ? 12 : 20) + element_bytes;
  if (bytes > kMaxField) throw std::length_error("a COPY field over 2 GB");
  begin_field();
  put32(static_cast<std::uint32_t>(bytes));
  put32(count == 0 ? 0 : 1);
  put32(has_nulls ? 1 : 0);
  put32(element_type);
  if (count == 0) return;
  put32(static_cast<std::uint32_t>(count));
  put32(1);
}

CopyRows& CopyRows::text_array(const std::vector<std::string>& values) {
  std::size_t element_bytes = 0;
  for (const std::string& v : values) element_bytes += 4 + v.size();
  begin_array(kTextOid, values.size(), element_bytes);
  for (const std::string& v : values) {
    put32(static_cast<std::uint32_t>(v.size()));
    data_.append(v);
  }
  return *this;
}

CopyRows& CopyRows::int4_array(const std::vector<int>& values) {
  begin_array(kInt4Oid, values.size(), values.size() * 8);
  for (const int v : values) {
    put32(4);
    put32(static_cast<std::uint32_t>(v));
  }
  return *this;
}

void CopyRows::end_row() {
  if (!row_open_) {  // a row of no fields
    row_start_ = data_.size();
    put16(0);
    fields_ = 0;
  }
  data_[row_start_] = static_cast<char>(fields_ >> 8);
  data_[row_start_ + 1] = static_cast<char>(fields_);
  row_open_ = false;
  ++rows_;
}

void CopyRows::clear() {
  data_.clear();
  rows_ = 0;
  row_open_ = false;
}

// ---- sending ----------------------------------------------------------------

class CopyStream {
 public:
  CopyStream(pqxx::transaction_base& tx, const std::string& table, const std::vector<std::string>& columns)
      : conn(connection_of(tx)), statement(copy_statement(table, columns)) {
    PGresult* result = PQexec(conn, statement.c_str());
    if (PQresultStatus(result) != PGRES_COPY_IN) {
      const ServerError error = error_of(conn, result);
      PQclear(result);
      finish_results();
      raise(conn, error, statement);
    }
    PQclear(result);
    open = true;
    try {
      put(kHeader, kHeaderBytes);
    } catch (...) {
      abandon();  // the destructor of a half-made object does not run
      throw;
    }
  }

  // An unfinished COPY (an exception while rows were built) is ended as
  // failed, so that the connection can take the transaction's rollback.
  ~CopyStream() { abandon(); }

  void abandon() {
    if (!open) return;
    open = false;
    PQputCopyEnd(conn, "the worker abandoned the COPY");
    finish_results();
  }

  CopyStream(const CopyStream&) = delete;
  CopyStream& operator=(const CopyStream&) = delete;

  // In pieces: PQputCopyData takes an int count, and a rebuild's buffer of
  // many services' rows can pass 2 GB.
  void put(const char* data, std::size_t size) {
    constexpr std::size_t kPiece = std::size_t{1} << 30;
    for (std::size_t at = 0; at < size; at += kPiece) {
      const auto n = static_cast<int>(std::min(kPiece, size - at));
      if (PQputCopyData(conn, data + at, n) != 1) raise(conn, error_of(conn, nullptr), statement);
    }
  }

  void complete() {
    put(kTrailer, 2);
    open = false;
    if (PQputCopyEnd(conn, nullptr) != 1) raise(conn, error_of(conn, nullptr), statement);
    if (const auto error = finish_results()) raise(conn, *error, statement);
  }

  // Reads every result left, so the connection is idle again; returns the
  // first error among them.
  std::optional<ServerError> finish_results() {
    std::optional<ServerError> first;
    while (PGresult* result = PQgetResult(conn)) {
      const ExecStatusType status = PQresultStatus(result);
      if (status == PGRES_COPY_IN) {
        PQputCopyEnd(conn, "the worker abandoned the COPY");
      } else if (status != PGRES_COMMAND_OK && !first) {
        first = error_of(conn, result);
      }
      PQclear(result);
      if (PQstatus(conn) == CONNECTION_BAD && !first) first = error_of(conn, nullptr);
      if (PQstatus(conn) == CONNECTION_BAD) break;
    }
    return first;
  }

  PGconn* conn;
  std::string statement;
  bool open = false;
};

void copy_into(pqxx::transaction_base& tx, const std::string& table, const std::vector<std::string>& columns,
               const CopyRows& rows) {
  if (rows.rows() == 0) return;
  CopyStream stream(tx, table, columns);
  stream.put(rows.data().data(), rows.data().size());
  stream.complete();
}

namespace {
// Large enough that a send's cost is spread over many rows; small enough
// that Postgres starts early.
constexpr std::size_t kCopyChunkBytes = 256 * 1024;
}  // namespace

CopyWriter::CopyWriter(pqxx::transaction_base& tx, std::string table, std::vector<std::string> columns)
    : tx_(tx), table_(std::move(table)), columns_(std::move(columns)) {}

CopyWriter::~CopyWriter() = default;

void CopyWriter::row_done() {
  if (rows_.data().size() >= kCopyChunkBytes) send();
}

void CopyWriter::send() {
  if (rows_.rows() == 0) return;
  if (!stream_) stream_ = std::make_unique<CopyStream>(tx_, table_, columns_);
  stream_->put(rows_.data().data(), rows_.data().size());
  sent_ += rows_.rows();
  rows_.clear();
}

void CopyWriter::complete() {
  send();
  if (stream_) stream_->complete();
  stream_.reset();
}

}  // namespace fourkeys::worker
