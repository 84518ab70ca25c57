#include "worker/pg_text.h"

#include "common/time.h"

#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace fourkeys::worker {
namespace {

void append_copy_escaped(std::string& out, std::string_view value) {
  // Copy runs of ordinary bytes at once; only the four special ones need a
  // second look.
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    const char* escape = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : nullptr;
    if (!escape) continue;
    out.append(value.data() + start, i - start);
    out.append(escape);
    start = i + 1;
  }
  out.append(value.data() + start, value.size() - start);
}

}  // namespace

void CopyRows::separate() {
  if (row_open_) data_ += '\t';
  row_open_ = true;
}

CopyRows& CopyRows::text(std::string_view value) {
  separate();
  append_copy_escaped(data_, value);
  return *this;
}

CopyRows& CopyRows::text_or_null(std::string_view value) {
  return value.empty() ? null() : text(value);
}

CopyRows& CopyRows::null() {
  separate();
  data_ += "\\N";
  return *this;
}

CopyRows& CopyRows::integer(long long value) {
  separate();
  data_ += std::to_string(value);
  return *this;
}

CopyRows& CopyRows::real(double value) {
  separate();
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%.17g", value);
  data_.append(buf, static_cast<std::size_t>(n));
  return *this;
}

CopyRows& CopyRows::boolean(bool value) {
  separate();
  data_ += value ? 't' : 'f';
  return *this;
}

CopyRows& CopyRows::time(Millis value) {
  separate();
  data_ += format_time(value);
  return *this;
}

CopyRows& CopyRows::time(const std::optional<Millis>& value) {
  return value ? time(*value) : null();
}

CopyRows& CopyRows::text_array(const std::vector<std::string>& values) {
  separate();
  append_copy_escaped(data_, array_literal(values));
  return *this;
}

void CopyRows::end_row() {
  data_ += '\n';
  row_open_ = false;
  ++rows_;
}

void copy_into(pqxx::transaction_base& tx, const std::string& table, const std::vector<std::string>& columns,
               const CopyRows& rows) {
  if (rows.rows() == 0) return;
  // libpqxx 6's only public way to send COPY text we escaped ourselves is
  // tablewriter's raw line (stream_to escapes again). The whole buffer goes
  // as one line: libpq forwards the bytes as they are, so one round trip
  // carries every row.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter writer(tx, table, columns.begin(), columns.end());
#pragma GCC diagnostic pop
  writer.write_raw_line(rows.data());
  writer.complete();
}

std::string int_array_literal(const std::vector<int>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  return out + "}";
}

std::string array_literal(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::vector<std::string> parse_text_array(std::string_view literal) {
  std::vector<std::string> out;
  if (literal.size() < 2 || literal.front() != '{' || literal.back() != '}') {
    throw std::invalid_argument("not an array literal");
  }
  std::size_t i = 1;
  const std::size_t end = literal.size() - 1;
  while (i < end) {
    std::string element;
    if (literal[i] == '"') {
      ++i;
      while (i < end && literal[i] != '"') {
        if (literal[i] == '\\' && i + 1 < end) ++i;
        element += literal[i++];
      }
      ++i;  // closing quote
    } else {
      while (i < end && literal[i] != ',') element += literal[i++];
    }
    out.push_back(std::move(element));
    if (i < end && literal[i] == ',') ++i;
  }
  return out;
}

}  // namespace fourkeys::worker
