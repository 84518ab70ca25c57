#include "worker/pg_text.h"

#include "common/time.h"

#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include <array>
#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace fourkeys::worker {
namespace {

// The bytes COPY's text format escapes.
constexpr std::array<bool, 256> kCopySpecial = [] {
  std::array<bool, 256> t{};
  t['\\'] = t['\t'] = t['\n'] = t['\r'] = true;
  return t;
}();

void append_copy_escaped(std::string& out, std::string_view value) {
  // Copy runs of ordinary bytes at once; only the four special ones need a
  // second look.
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (!kCopySpecial[static_cast<unsigned char>(c)]) continue;
    const char* escape = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : "\\r";
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
  // The shortest text that reads back as the same double.
  char buf[64];
  const auto [end, error] = std::to_chars(buf, buf + sizeof buf, value);
  data_.append(buf, static_cast<std::size_t>(end - buf));
  return *this;
}

CopyRows& CopyRows::boolean(bool value) {
  separate();
  data_ += value ? 't' : 'f';
  return *this;
}

CopyRows& CopyRows::time(Millis value) {
  separate();
  // format_time()'s text, written in place: a batch formats hundreds of
  // thousands of times.
  const Millis day_ms = 86'400'000;
  Millis days = value / day_ms;
  Millis in_day = value % day_ms;
  if (in_day < 0) {
    in_day += day_ms;
    --days;
  }
  // Howard Hinnant's civil_from_days.
  const Millis z = days + 719468;
  const Millis era = (z >= 0 ? z : z - 146096) / 146097;
  const Millis doe = z - era * 146097;
  const Millis yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const Millis doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const Millis mp = (5 * doy + 2) / 153;
  const Millis d = doy - (153 * mp + 2) / 5 + 1;
  const Millis m = mp < 10 ? mp + 3 : mp - 9;
  const Millis y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y < 0 || y > 9999) {
    data_ += format_time(value);
    return *this;
  }
  char buf[24];
  auto put = [&buf](int at, Millis v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) buf[at + i] = static_cast<char>('0' + v % 10);
  };
  put(0, y, 4);
  buf[4] = '-';
  put(5, m, 2);
  buf[7] = '-';
  put(8, d, 2);
  buf[10] = 'T';
  put(11, in_day / 3'600'000, 2);
  buf[13] = ':';
  put(14, in_day / 60'000 % 60, 2);
  buf[16] = ':';
  put(17, in_day / 1000 % 60, 2);
  buf[19] = '.';
  put(20, in_day % 1000, 3);
  buf[23] = 'Z';
  data_.append(buf, sizeof buf);
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

void CopyRows::clear() {
  data_.clear();
  rows_ = 0;
  row_open_ = false;
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

namespace {
// Large enough that a round of escaping outweighs a send; small enough that
// Postgres starts early.
constexpr std::size_t kCopyChunkBytes = 256 * 1024;
}  // namespace

// libpqxx 6's tablewriter is deprecated in favour of stream_to, which
// escapes again what CopyRows already escaped.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
struct CopyWriter::Stream {
  Stream(pqxx::transaction_base& tx, const std::string& table, const std::vector<std::string>& columns)
      : writer(tx, table, columns.begin(), columns.end()) {}
  pqxx::tablewriter writer;
};
#pragma GCC diagnostic pop

CopyWriter::CopyWriter(pqxx::transaction_base& tx, std::string table, std::vector<std::string> columns)
    : tx_(tx), table_(std::move(table)), columns_(std::move(columns)) {}

CopyWriter::~CopyWriter() = default;

void CopyWriter::row_done() {
  if (rows_.data().size() >= kCopyChunkBytes) send();
}

void CopyWriter::send() {
  if (rows_.rows() == 0) return;
  if (!stream_) stream_ = std::make_unique<Stream>(tx_, table_, columns_);
  stream_->writer.write_raw_line(rows_.data());
  sent_ += rows_.rows();
  rows_.clear();
}

void CopyWriter::complete() {
  send();
  if (stream_) stream_->writer.complete();
  stream_.reset();
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
