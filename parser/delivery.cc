#include "parser/delivery.h"

#include <boost/beast/core/string.hpp>

#include <cctype>

namespace fourkeys::parser {

bool iequals(std::string_view a, std::string_view b) {
  // Beast's ASCII-only comparison: std::tolower is a call per byte, and
  // header names are looked up several times per delivery.
  return boost::beast::iequals(a, b);
}

std::string_view Headers::get(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (iequals(k, name)) return v;
  }
  return {};
}

bool Headers::has(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (iequals(k, name)) return true;
  }
  return false;
}

std::string media_type(const Headers& headers) {
  std::string_view ct = headers.get("Content-Type");
  const auto semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  std::string out;
  for (char c : ct) {
    if (c == ' ' || c == '\t') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace fourkeys::parser
