// Array literals: how the worker passes a list of values as one statement
// parameter (`= ANY($1::text[])`, `unnest($1::text[])`), and reads one back.
// Bulk writes are pg_copy.h's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fourkeys::worker {

// A Postgres array literal of text elements: {"a","b\"c"}.
std::string array_literal(const std::vector<std::string>& values);

// Reads a text[] value as Postgres writes it.
std::vector<std::string> parse_text_array(std::string_view literal);

}  // namespace fourkeys::worker
