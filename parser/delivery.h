// What the receiver hands a source: the request as it arrived. Plain data,
// so that normalizers stay pure functions and tests build deliveries from
// fixture files without a server.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fourkeys::parser {

// HTTP header fields in arrival order; names compare case-insensitively.
class Headers {
 public:
  Headers() = default;
  Headers(std::initializer_list<std::pair<std::string, std::string>> fields) : fields_(fields) {}
  // Takes the fields as they are (the receiver hands over a request's own).
  explicit Headers(std::vector<std::pair<std::string, std::string>> fields) : fields_(std::move(fields)) {}

  void add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  // The first value of `name`, or empty when absent.
  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// One authenticated-or-not request. The views point into storage owned by
// the caller and must outlive any call that receives the Delivery.
struct Delivery {
  std::string_view path;  // request target without the query string
  const Headers& headers;
  std::string_view body;  // raw bytes exactly as sent (signatures cover these)
};

// The media type of Content-Type, lowercased, parameters removed.
std::string media_type(const Headers& headers);

// The headers a normalizer reads (event names, delivery ids, CloudEvents
// ce-* attributes, the content type), lower-cased, to be kept with the
// envelope so that the delivery can be normalized again from its stored
// JSON body. Never a credential (signatures, tokens, Authorization). A form
// body's content type becomes application/json, because what is kept is the
// JSON text of its `payload` field.
std::vector<std::pair<std::string, std::string>> normalization_headers(const Headers& headers);

// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

}  // namespace fourkeys::parser
