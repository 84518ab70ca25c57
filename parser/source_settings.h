// Credentials and switches the sources are built with. Filled from flags and
// environment variables by the receiver's main; tests fill it directly.
#pragma once

#include "common/settings.h"

namespace fourkeys::parser {

struct SourceSettings {
  SecretSet github_secrets;     // FOURKEYS_GITHUB_SECRET
  bool github_allow_sha1 = false;  // FOURKEYS_GITHUB_ALLOW_SHA1
  SecretSet gitlab_tokens;      // FOURKEYS_GITLAB_TOKEN
  SecretSet pagerduty_secrets;  // FOURKEYS_PAGERDUTY_SECRET
  SecretSet api_tokens;         // FOURKEYS_API_TOKEN (API and CDEvents routes)
};

}  // namespace fourkeys::parser
