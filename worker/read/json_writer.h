// Compact JSON text in the style of Python's json.dumps with FastAPI's
// separators: no spaces, floats as Python's repr (`2.0`, `0.33`, `1e-05`),
// UTF-8 left as is. The seed's API answers are matched byte for byte where
// the values agree, so a client that compares text sees no difference.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fourkeys::worker {

// Python's repr of a float. NaN and infinities (which FastAPI refuses) are
// written as null.
std::string python_float_text(double value);

// Python's round(value, 2): the double closest to the exact decimal value of
// `value` rounded to two places, ties to even.
double python_round2(double value);

// Builds one JSON document. The caller keeps the nesting balanced; keys are
// written only inside objects. Not thread-safe; owns its text.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);

  JsonWriter& string(std::string_view text);
  JsonWriter& string(const std::string& text) { return string(std::string_view(text)); }
  JsonWriter& string(const char* text) { return string(std::string_view(text)); }
  JsonWriter& number(double value);  // as a Python float
  JsonWriter& integer(std::int64_t value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();

  // The optional's value, or null.
  JsonWriter& number(const std::optional<double>& value);
  JsonWriter& string(const std::optional<std::string>& value);

  // key(name) then the value.
  template <typename T>
  JsonWriter& field(std::string_view name, const T& value) {
    key(name);
    return put(value);
  }

  const std::string& text() const { return text_; }
  std::string take() { return std::move(text_); }

 private:
  void separate();
  JsonWriter& put(double v) { return number(v); }
  JsonWriter& put(const std::optional<double>& v) { return number(v); }
  JsonWriter& put(std::int64_t v) { return integer(v); }
  JsonWriter& put(int v) { return integer(v); }
  JsonWriter& put(bool v) { return boolean(v); }
  JsonWriter& put(std::string_view v) { return string(v); }
  JsonWriter& put(const std::string& v) { return string(std::string_view(v)); }
  JsonWriter& put(const char* v) { return string(std::string_view(v)); }
  JsonWriter& put(const std::optional<std::string>& v) { return string(v); }
  JsonWriter& put(std::nullptr_t) { return null(); }

  std::string text_;
  bool need_comma_ = false;
};

}  // namespace fourkeys::worker
