#include "parser/root_cause.h"

#include <cctype>

namespace fourkeys::parser {
namespace {

constexpr std::string_view kMarker = "root cause";

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool starts_with_icase(std::string_view text, std::size_t at, std::string_view prefix) {
  if (text.size() - at < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != prefix[i]) return false;
  }
  return true;
}

// The sha following the marker that ends at `pos`, or empty.
bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string sha_after(std::string_view text, std::size_t pos) {
  while (pos < text.size() && is_blank(text[pos])) ++pos;
  if (pos >= text.size() || (text[pos] != ':' && text[pos] != '-')) return {};
  ++pos;
  // Markdown writes shas as code: "root cause: `abc1234`".
  while (pos < text.size() && (is_blank(text[pos]) || text[pos] == '`')) ++pos;
  std::size_t end = pos;
  while (end < text.size() && is_hex(text[end])) ++end;
  const std::size_t length = end - pos;
  if (length < 7 || length > 40) return {};
  // "deadbeefcafe-x" is fine, "deadbeefzz" is a word, not a sha.
  if (end < text.size() && (is_alnum(text[end]) || text[end] == '_')) return {};
  std::string sha(text.substr(pos, length));
  for (char& c : sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return sha;
}

}  // namespace

std::string find_root_cause_sha(std::string_view text) {
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (!starts_with_icase(text, at, kMarker)) continue;
    std::string sha = sha_after(text, at + kMarker.size());
    if (!sha.empty()) return sha;
  }
  return {};
}

}  // namespace fourkeys::parser
