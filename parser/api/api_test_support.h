// Test helpers shared by the api tests.
#pragma once

#include <string>

#include "parser/api/api_source.h"

namespace fourkeys::parser::api_test {

inline constexpr const char* kReceivedAtText = "2023-11-14T22:13:20.000Z";

// Posts `body` to `path` as the seed's snippets do (application/json unless
// `content_type` says otherwise; empty sends no Content-Type).
Outcome post(const std::string& path, const std::string& body,
             const std::string& content_type = "application/json");

// Like post, and requires a published envelope that satisfies the schema.
Envelope post_published(const std::string& path, const std::string& body,
                        const std::string& content_type = "application/json");

bool has_default(const Envelope& env, const std::string& name);

}  // namespace fourkeys::parser::api_test
