// Text forms Postgres reads in bulk: rows in COPY's text format, and array
// literals. Bulk writes go through COPY (one round trip per table per batch)
// instead of one statement per row.
#pragma once

#include "worker/model.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace fourkeys::worker {

// Builds COPY text rows: fields separated by tabs, rows by newlines, NULL as
// \N, backslash, tab, newline and carriage return escaped.
class CopyRows {
 public:
  CopyRows& text(std::string_view value);
  // An empty string is written as NULL (the envelope's "not said").
  CopyRows& text_or_null(std::string_view value);
  CopyRows& null();
  CopyRows& integer(long long value);
  CopyRows& real(double value);
  CopyRows& boolean(bool value);
  CopyRows& time(Millis value);
  CopyRows& time(const std::optional<Millis>& value);
  CopyRows& text_array(const std::vector<std::string>& values);
  void end_row();

  std::size_t rows() const { return rows_; }
  const std::string& data() const { return data_; }
  void clear();

 private:
  void separate();
  std::string data_;
  std::size_t rows_ = 0;
  bool row_open_ = false;
};

// Sends `rows` into `columns` of `table` with COPY FROM STDIN. Nothing is
// sent when there are no rows.
void copy_into(pqxx::transaction_base& tx, const std::string& table, const std::vector<std::string>& columns,
               const CopyRows& rows);

// COPY FROM STDIN that sends rows while more are being built: whenever the
// buffer holds a chunk, it goes out, so Postgres parses one chunk while the
// caller escapes the next (a batch's events_raw is tens of MB). The COPY
// starts with the first chunk; while it runs, `tx` can run nothing else.
class CopyWriter {
 public:
  CopyWriter(pqxx::transaction_base& tx, std::string table, std::vector<std::string> columns);
  ~CopyWriter();
  CopyWriter(const CopyWriter&) = delete;
  CopyWriter& operator=(const CopyWriter&) = delete;

  // Fill one row, end it with end_row(), then call row_done().
  CopyRows& rows() { return rows_; }
  void row_done();
  // Sends what is left and ends the COPY. Without it (an exception), the
  // transaction is aborted anyway.
  void complete();
  std::size_t rows_sent() const { return sent_; }

 private:
  void send();
  pqxx::transaction_base& tx_;
  std::string table_;
  std::vector<std::string> columns_;
  struct Stream;
  std::unique_ptr<Stream> stream_;
  CopyRows rows_;
  std::size_t sent_ = 0;
};

// A Postgres array literal of text elements: {"a","b\"c"}.
std::string array_literal(const std::vector<std::string>& values);
// `{1,2,3}`: an integer array literal.
std::string int_array_literal(const std::vector<int>& values);

// Reads a text[] value as Postgres writes it.
std::vector<std::string> parse_text_array(std::string_view literal);

}  // namespace fourkeys::worker
