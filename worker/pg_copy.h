// Bulk writes: rows in COPY's binary format, and the COPY FROM STDIN that
// sends them (one round trip per table per batch instead of a statement per
// row).
//
// Binary rather than text: Postgres reads each field by its length instead
// of scanning every byte for delimiters and escapes, and times and numbers
// arrive as the numbers they are, not as text to parse. For the worker's
// rows (envelopes of several KB, forty-character shas, two timestamps per
// deployment change) that takes a quarter to a third off the server's work
// per row (bench/RESULTS.md, "Worker notes").
#pragma once

#include "worker/model.h"

#include <bit>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace fourkeys::worker {

// Builds the tuples of a binary COPY (the header and trailer are the
// sender's). Each method appends one field in the binary form of the
// column type it names; the caller must call the one matching the column's
// type (int4 for integer, int8 for bigint, float8 for double precision,
// ...): Postgres rejects a field of another size ("incorrect binary data
// format", "insufficient data left in message"), so a mismatch fails the
// COPY, it never stores a wrong value; tests/integration/pg_copy_test.cc
// and the worker's tests write every table.
class CopyRows {
 public:
  // text, and json (Postgres checks the text is valid UTF-8 and, for json,
  // valid JSON).
  CopyRows& text(std::string_view value);
  // An empty string is written as NULL (the envelope's "not said").
  CopyRows& text_or_null(std::string_view value);
  CopyRows& null();
  CopyRows& int4(std::int32_t value);
  CopyRows& int8(std::int64_t value);
  CopyRows& float8(double value);
  CopyRows& float8(const std::optional<double>& value);  // nullopt: NULL
  CopyRows& boolean(bool value);
  // timestamptz. Throws std::out_of_range for an instant too far to count in
  // microseconds; Postgres rejects the rest of what it cannot hold (never
  // an instant parse_time() gives).
  CopyRows& time(Millis value);
  CopyRows& time(const std::optional<Millis>& value);  // nullopt: NULL
  // date, from `YYYY-MM-DD` as utc_day_text() writes it; throws
  // std::invalid_argument for text of another shape or a month or day out
  // of range.
  CopyRows& date(std::string_view yyyy_mm_dd);
  CopyRows& text_array(const std::vector<std::string>& values);  // text[]
  CopyRows& int4_array(const std::vector<int>& values);          // integer[]
  // Arrays of `count` elements, element(i) giving the i-th, so that a
  // caller's rows become an array without a vector of their own:
  // text[] (element returns something std::string_view takes),
  // timestamptz[] (Millis; throws as time() does) and float8[] (double).
  template <typename Element>
  CopyRows& text_array(std::size_t count, const Element& element);
  // text[] whose empty elements are NULL (the envelope's "not said").
  template <typename Element>
  CopyRows& text_or_null_array(std::size_t count, const Element& element);
  template <typename Element>
  CopyRows& time_array(std::size_t count, const Element& element);
  template <typename Element>
  CopyRows& float8_array(std::size_t count, const Element& element);
  void end_row();

  std::size_t rows() const { return rows_; }
  // The tuples so far, without header or trailer.
  const std::string& data() const { return data_; }
  void clear();

 private:
  void begin_field();
  // One-dimensional array field: its length, header and dimension; the
  // caller appends `count` elements taking `element_bytes` together.
  void begin_array(std::uint32_t element_type, std::size_t count, std::size_t element_bytes,
                   bool has_nulls = false);
  // An array of `count` eight-byte elements, bits(i) giving the i-th.
  template <typename Bits>
  CopyRows& eight_byte_array(std::uint32_t element_type, std::size_t count, const Bits& bits);
  static std::uint32_t text_type();
  static std::uint32_t time_type();
  static std::uint32_t float8_type();
  // Microseconds since 2000-01-01, binary COPY's timestamptz.
  static std::int64_t postgres_micros(Millis value);
  void put16(std::uint16_t v);
  void put32(std::uint32_t v);
  void put64(std::uint64_t v);

  std::string data_;
  std::size_t rows_ = 0;
  std::size_t row_start_ = 0;  // where the open row's field count goes
  std::uint16_t fields_ = 0;
  bool row_open_ = false;
};

template <typename Element>
CopyRows& CopyRows::text_array(std::size_t count, const Element& element) {
  std::size_t element_bytes = 0;
  for (std::size_t i = 0; i < count; ++i) element_bytes += 4 + std::string_view(element(i)).size();
  begin_array(text_type(), count, element_bytes);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& value = element(i);  // a temporary lives as long as the reference
    const std::string_view v(value);
    put32(static_cast<std::uint32_t>(v.size()));
    data_.append(v);
  }
  return *this;
}

template <typename Element>
CopyRows& CopyRows::text_or_null_array(std::size_t count, const Element& element) {
  std::size_t element_bytes = 0;
  bool has_nulls = false;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t size = std::string_view(element(i)).size();
    element_bytes += 4 + size;
    has_nulls = has_nulls || size == 0;
  }
  begin_array(text_type(), count, element_bytes, has_nulls);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& value = element(i);  // a temporary lives as long as the reference
    const std::string_view v(value);
    if (v.empty()) {
      put32(0xFFFF'FFFF);  // length -1
      continue;
    }
    put32(static_cast<std::uint32_t>(v.size()));
    data_.append(v);
  }
  return *this;
}

template <typename Bits>
CopyRows& CopyRows::eight_byte_array(std::uint32_t element_type, std::size_t count, const Bits& bits) {
  begin_array(element_type, count, count * 12);
  for (std::size_t i = 0; i < count; ++i) {
    put32(8);
    put64(bits(i));
  }
  return *this;
}

template <typename Element>
CopyRows& CopyRows::time_array(std::size_t count, const Element& element) {
  // Every time checked before the field starts, so a throw leaves no half field.
  for (std::size_t i = 0; i < count; ++i) postgres_micros(element(i));
  return eight_byte_array(time_type(), count,
                          [&](std::size_t i) { return static_cast<std::uint64_t>(postgres_micros(element(i))); });
}

template <typename Element>
CopyRows& CopyRows::float8_array(std::size_t count, const Element& element) {
  return eight_byte_array(float8_type(), count,
                          [&](std::size_t i) { return std::bit_cast<std::uint64_t>(static_cast<double>(element(i))); });
}

// Sends `rows` into `columns` of `table` with one binary COPY FROM STDIN.
// Nothing is sent when there are no rows. Errors are thrown as libpqxx's
// exceptions with the server's SQLSTATE (pqxx::unique_violation for a
// duplicate key, pqxx::broken_connection when the connection is lost), so
// callers classify them as they do any statement's.
void copy_into(pqxx::transaction_base& tx, const std::string& table, const std::vector<std::string>& columns,
               const CopyRows& rows);

class CopyStream;  // one COPY FROM STDIN in progress (pg_copy.cc)

// A binary COPY FROM STDIN that sends rows while more are being built:
// whenever the buffer holds a chunk it goes out, so Postgres reads one chunk
// while the caller builds the next (a batch's events_raw is tens of MB).
// The COPY starts with the first chunk; while it runs, `tx` can run nothing
// else. `tx` must outlive the writer.
class CopyWriter {
 public:
  CopyWriter(pqxx::transaction_base& tx, std::string table, std::vector<std::string> columns);
  // Without complete() (an exception on the way), the COPY is abandoned and
  // the transaction is aborted with it.
  ~CopyWriter();
  CopyWriter(const CopyWriter&) = delete;
  CopyWriter& operator=(const CopyWriter&) = delete;

  // Fill one row, end it with end_row(), then call row_done().
  CopyRows& rows() { return rows_; }
  void row_done();
  // Sends what is left and ends the COPY; throws as copy_into() does.
  void complete();
  std::size_t rows_sent() const { return sent_; }

 private:
  void send();
  pqxx::transaction_base& tx_;
  std::string table_;
  std::vector<std::string> columns_;
  std::unique_ptr<CopyStream> stream_;
  CopyRows rows_;
  std::size_t sent_ = 0;
};

}  // namespace fourkeys::worker
