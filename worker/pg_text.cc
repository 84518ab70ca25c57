#include "worker/pg_text.h"

#include <stdexcept>

namespace fourkeys::worker {

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
