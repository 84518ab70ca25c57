// Reading "root cause: <sha>" out of free text, the convention by which an
// incident names the commit that caused it (DESIGN.md, Receiver: GitHub
// issues; PagerDuty and CDEvents incidents follow the same convention).
#pragma once

#include <string>
#include <string_view>

namespace fourkeys::parser {

// The first commit sha written as "root cause: <sha>" in `text` ("Root
// Cause:", "root cause :" and "root cause - " count too, any case, the sha
// may be in backticks). A sha is 7 to 40 hex digits followed by a character
// that is not a letter, digit or underscore, or the end. Shared by every
// source whose incidents carry free text (GitHub and GitLab issues,
// PagerDuty, CDEvents, the API).
// Returns it lowercased, or empty when the text names none.
std::string find_root_cause_sha(std::string_view text);

}  // namespace fourkeys::parser
