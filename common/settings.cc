#include "common/settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fourkeys {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool split_number(std::string_view text, double& number, std::string& unit) {
  text = trim(text);
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return false;
  const std::string digits(text.substr(0, i));
  char* end = nullptr;
  number = std::strtod(digits.c_str(), &end);
  if (end != digits.c_str() + digits.size()) return false;
  unit = lower(trim(text.substr(i)));
  return true;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double n;
  std::string unit;
  if (!split_number(text, n, unit)) return std::nullopt;
  double ms;
  if (unit.empty() || unit == "ms") ms = n;
  else if (unit == "s") ms = n * 1000;
  else if (unit == "m" || unit == "min") ms = n * 60'000;
  else if (unit == "h") ms = n * 3'600'000;
  else if (unit == "d") ms = n * 86'400'000;
  else return std::nullopt;
  if (!std::isfinite(ms) || ms >= 9.2e18) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

std::optional<std::size_t> parse_size(std::string_view text) {
  double n;
  std::string unit;
  if (!split_number(text, n, unit)) return std::nullopt;
  double mult;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "kib" || unit == "k") mult = 1024;
  else if (unit == "mib" || unit == "m") mult = 1024.0 * 1024;
  else if (unit == "gib" || unit == "g") mult = 1024.0 * 1024 * 1024;
  else if (unit == "kb") mult = 1000;
  else if (unit == "mb") mult = 1e6;
  else if (unit == "gb") mult = 1e9;
  else return std::nullopt;
  const double bytes = n * mult;
  if (!std::isfinite(bytes) || bytes >= 1.8e19) return std::nullopt;
  return static_cast<std::size_t>(bytes);
}

bool is_truthy(std::string_view text) {
  const std::string v = lower(trim(text));
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

SecretSet load_secrets(const std::string& inline_value, const std::string& file_path,
                       std::string_view setting_name) {
  SecretSet set;
  std::string text = inline_value;
  set.origin = std::string(setting_name);
  if (text.empty() && !file_path.empty()) {
    std::ifstream in(file_path, std::ios::binary);
    if (!in || std::filesystem::is_directory(file_path)) {
      throw std::runtime_error(std::string(setting_name) + "_FILE: cannot read " + file_path);
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) {
      throw std::runtime_error(std::string(setting_name) + "_FILE: cannot read " + file_path);
    }
    text = buf.str();
    set.origin = std::string(setting_name) + "_FILE";
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find_first_of(",\n", start);
    if (end == std::string::npos) end = text.size();
    const std::string_view item = trim(std::string_view(text).substr(start, end - start));
    if (!item.empty()) set.values.emplace_back(item);
    start = end + 1;
  }
  return set;
}

}  // namespace fourkeys
