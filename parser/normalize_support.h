// Small pieces that every normalizer needs: reading the JSON body with a
// useful error, converting sender times, and the envelope fields that do not
// depend on the sender. Pure functions.
#pragma once

#include "common/json.h"
#include "parser/envelope.h"
#include "parser/source.h"

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace fourkeys::parser {

// Parses `body` as JSON. On failure returns nullopt and sets `outcome` to a
// bad_request whose reason says at which byte the body broke.
std::optional<boost::json::value> parse_body(std::string_view body, Outcome& outcome);

// Sets `outcome` to the bad_request parse_body gives for `error`, for
// normalizers that read a body without parsing it into a tree.
void reject_body(const json::ParseError& error, Outcome& outcome);

// Starts an envelope: schema fields, source, source_event, signature (SHA-1
// of the raw body), received_at, raw. `delivery_id` empty means the sender
// gave none: the id becomes "<source>:sha1:<SHA-1 of the body>" and
// "id" is added to defaults.
Envelope start_envelope(std::string_view source, std::string_view source_event,
                        std::string_view delivery_id, std::string_view raw_body,
                        boost::json::value raw, const NormalizeOptions& options);

// Converts a sender time (string in any format common/time.h reads, or an
// epoch number) to the envelope format. Empty when absent or unreadable.
// A time without a zone is read as UTC and adds "zone" to env.defaults.
std::string envelope_time(const boost::json::value* v, Envelope& env);
std::string envelope_time(std::string_view text, Envelope& env);

// Fills service (default: the repository; "unknown" when there is none,
// adding "service" to defaults) from the repository full path.
void set_repository(Envelope& env, std::string_view repository);

// Sets occurred_at, falling back to received_at (adding "occurred_at" to
// defaults) when the sender gave no usable time.
void set_occurred_at(Envelope& env, const std::string& time);

// The first line of a commit message.
std::string first_line(std::string_view message);

// Outcome helpers.
Outcome publish(Envelope env);
Outcome ignored(std::string source_event, std::string reason);
Outcome dead_letter(std::string source_event, std::string reason);
Outcome unsupported(std::string source_event, std::string reason);  // 415

}  // namespace fourkeys::parser
