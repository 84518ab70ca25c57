// GitHub webhooks configured with "Content type: application/x-www-form-urlencoded"
// send the JSON payload percent-encoded in a form field named `payload`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fourkeys::parser {

// The decoded value of the `payload` field of a form body (`+` read as a
// space, %XX escapes decoded). nullopt when the body is not a valid form or
// has no `payload` field; `error` then says which, for a 400 answer.
// Never throws on sender input.
std::optional<std::string> form_payload(std::string_view form_body, std::string& error);

}  // namespace fourkeys::parser
