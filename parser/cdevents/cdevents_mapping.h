// Internal to the cdevents source: what one CDEvent means for the DORA
// metrics, independent of how the CloudEvent carried it (binary or
// structured mode).
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "parser/source.h"

namespace fourkeys::parser::cdevents {

// The CloudEvents attributes of the delivery (ce-* headers in binary mode,
// top-level members in structured mode). They stand in for the CDEvent's own
// context fields when a sender leaves those out; empty when absent.
struct CloudEventAttributes {
  std::string id;
  std::string type;
  std::string source;
  std::string time;
};

// Maps `cdevent` (an object with `context` and `subject`) to an outcome.
// `raw` is the delivery's whole parsed body; `cdevent` may point into it, so
// `raw` is moved into the envelope only after every read. Never throws on
// sender input.
Outcome map_cdevent(const boost::json::value& cdevent, const CloudEventAttributes& attributes,
                    std::string_view raw_body, boost::json::value&& raw,
                    const NormalizeOptions& options);

}  // namespace fourkeys::parser::cdevents
