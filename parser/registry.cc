#include "parser/registry.h"

#include "parser/api/api_source.h"
#include "parser/cdevents/cdevents_source.h"
#include "parser/github/github_source.h"
#include "parser/gitlab/gitlab_source.h"
#include "parser/pagerduty/pagerduty_source.h"

namespace fourkeys::parser {

std::vector<std::unique_ptr<Source>> build_sources(const SourceSettings& settings) {
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(make_github_source(settings));
  sources.push_back(make_gitlab_source(settings));
  sources.push_back(make_pagerduty_source(settings));
  sources.push_back(make_cdevents_source(settings));
  sources.push_back(make_api_source(settings));
  return sources;
}

}  // namespace fourkeys::parser
