#include "parser/github/github_form.h"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>

namespace fourkeys::parser {

std::optional<std::string> form_payload(std::string_view form_body, std::string& error) {
  // Boost.URL validates every %XX escape, which a hand-written decoder would
  // have to repeat; an invalid escape is a malformed body, not a guess.
  auto params = boost::urls::parse_query(boost::urls::string_view(form_body.data(), form_body.size()));
  if (!params) {
    error = "the form body is not valid application/x-www-form-urlencoded: " + params.error().message();
    return std::nullopt;
  }
  boost::urls::encoding_opts form_opts;
  form_opts.space_as_plus = true;
  for (const auto& param : *params) {
    if (param.has_value && param.key.decode(form_opts) == "payload") {
      return param.value.decode(form_opts);
    }
  }
  error = "the form body has no payload field";
  return std::nullopt;
}

}  // namespace fourkeys::parser
