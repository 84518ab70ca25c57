// Helpers for settings that every program reads from flags and environment
// variables. The variable names themselves are listed in README.md.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fourkeys {

// "5s", "250ms", "2m", "24h", "1500" (milliseconds). nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// "25MiB", "1024", "64KiB", "1MB". nullopt when malformed.
std::optional<std::size_t> parse_size(std::string_view text);

// True for "1", "true", "yes", "on" (any case).
bool is_truthy(std::string_view text);

// The value of an environment variable, or nullopt when unset.
std::optional<std::string> env(const char* name);

// A set of secrets for one source. Several are allowed so that a secret can
// be rotated without downtime: the old and the new one are both accepted
// while senders move over. The values are never logged.
struct SecretSet {
  std::vector<std::string> values;
  // Where the values came from ("FOURKEYS_GITHUB_SECRET_FILE"), for messages.
  std::string origin;
  bool empty() const { return values.empty(); }
};

// Splits `inline_value` on commas and newlines (empty entries dropped,
// surrounding whitespace trimmed). When it is empty and `file_path` is set,
// reads the same list from that file. Throws std::runtime_error naming the
// file (never its contents) when the file cannot be read.
SecretSet load_secrets(const std::string& inline_value, const std::string& file_path,
                       std::string_view setting_name);

}  // namespace fourkeys
