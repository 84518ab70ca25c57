// The fields of a GitHub push payload that the envelope needs, read in one
// pass over the JSON text with Boost.JSON's basic_parser instead of from a
// parsed tree. Pushes are the most frequent delivery and their bodies are
// large (every commit's file lists, the whole repository object): building
// the tree cost more than everything else the normalizer does with it.
#pragma once

#include "common/json.h"

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fourkeys::parser {

// A commit object of a push (`commits[]` or `head_commit`). A string field is
// empty when it is absent or not a string; `timestamp` is null when absent
// and otherwise the value as sent (string or epoch number; other kinds are
// kept as null).
struct PushCommitFields {
  std::string id;
  boost::json::value timestamp;
  std::string author_name;
  std::string author_username;
  std::string message;
  // The paths in `added`, `modified` and `removed` (string elements only),
  // which split a monorepo's push by service.
  std::vector<std::string> added;
  std::vector<std::string> modified;
  std::vector<std::string> removed;
};

// What map_push reads, with the meaning json::find over the parsed body
// would give: the last of duplicate keys wins, a value of another kind than
// expected counts as absent, elements of `commits` that are not objects are
// left out.
struct PushFields {
  std::string ref;
  std::string before;
  std::string after;
  bool deleted = false;  // true only for the boolean true
  std::string repository_full_name;
  boost::json::value repository_pushed_at;  // as PushCommitFields::timestamp
  std::vector<PushCommitFields> commits;
  std::optional<PushCommitFields> head_commit;  // set when head_commit is an object
};

// Reads `json_text`, which must be one complete JSON value under the same
// rules and limits as json::parse (Nesting::body). On failure returns nullopt
// and fills `error` exactly as json::parse would for the same text. A value
// that is not an object gives empty fields.
std::optional<PushFields> read_push_fields(std::string_view json_text, json::ParseError& error);

}  // namespace fourkeys::parser
