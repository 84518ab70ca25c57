// `Authorization: Bearer <token>` checking, shared by the routes that CI jobs
// and CDEvents emitters call.
#pragma once

#include "common/settings.h"
#include "parser/delivery.h"
#include "parser/source.h"

namespace fourkeys::parser {

// Accepts when the bearer token equals any configured token (constant time).
// `setting` names the variable to mention when none is configured.
AuthResult check_bearer(const Headers& headers, const SecretSet& tokens, std::string_view setting);

}  // namespace fourkeys::parser
