// Validates envelopes against schemas/event.v1.schema.json with valijson.
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace fourkeys::testing {

// Empty when `envelope` satisfies the schema; otherwise every violation,
// one per line, with its JSON path.
std::string schema_errors(const boost::json::value& envelope);

}  // namespace fourkeys::testing
