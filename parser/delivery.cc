#include "parser/delivery.h"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <cctype>
#include <iterator>

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

std::vector<std::pair<std::string, std::string>> normalization_headers(const Headers& headers) {
  static constexpr std::string_view kRead[] = {
      "x-github-event", "x-github-delivery", "x-gitlab-event", "x-gitlab-event-uuid",
      "idempotency-key", "x-webhook-id", "user-agent",  // POST / tells GitHub by its user agent
  };
  std::vector<std::pair<std::string, std::string>> kept;
  kept.reserve(8);
  for (const auto& field : headers.all()) {
    const std::string& name = field.first;
    // Compared before anything is copied: this runs for every delivery.
    const bool read = (name.size() > 3 && iequals(std::string_view(name).substr(0, 3), "ce-")) ||
                      std::any_of(std::begin(kRead), std::end(kRead),
                                  [&](std::string_view wanted) { return iequals(name, wanted); });
    if (!read) continue;
    std::string lowered(name);
    for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    kept.emplace_back(std::move(lowered), field.second);
  }
  const std::string media = media_type(headers);
  if (!media.empty()) {
    kept.emplace_back("content-type", media == "application/x-www-form-urlencoded" ? std::string("application/json")
                                                                                     : std::string(headers.get("Content-Type")));
  }
  return kept;
}

}  // namespace fourkeys::parser
