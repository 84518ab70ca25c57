// One mapper per GitHub event that can carry a DORA signal. Each reads the
// parsed payload (push: the fields read from it) and returns publish /
// ignored / dead_letter. Published envelopes come back with `raw` still null:
// the caller moves the payload in (push: its text), which saves copying large
// bodies.
#pragma once

#include "parser/envelope.h"
#include "parser/github/github_push_fields.h"
#include "parser/source.h"

#include <boost/json/value.hpp>

#include <string_view>

namespace fourkeys::parser {

// What every mapper needs besides the payload. The views must outlive the call.
struct GithubDeliveryContext {
  std::string_view event;        // X-GitHub-Event
  std::string_view delivery_id;  // X-GitHub-Delivery; empty when absent
  std::string_view raw_body;     // bytes as sent: the envelope's signature
  const NormalizeOptions& options;

  // An envelope with id, source, signature, received_at and repository/service
  // (from repository.full_name) set; `raw` is left null.
  Envelope start(const boost::json::value& payload, Kind kind) const;
  Envelope start(std::string_view repository_full_name, Kind kind) const;
};

// push: a change with the pushed commits. Ignored for branch/tag deletions and
// for tag pushes without new commits; dead-lettered without any commit sha.
// Reads the fields read_push_fields collected (no parsed tree).
Outcome map_push(const PushFields& payload, const GithubDeliveryContext& ctx);

// pull_request: a change only when closed and merged.
Outcome map_pull_request(const boost::json::value& payload, const GithubDeliveryContext& ctx);

// deployment: a deployment start (status queued).
Outcome map_deployment(const boost::json::value& payload, const GithubDeliveryContext& ctx);

// deployment_status: a finished deployment for the terminal states success,
// failure and error; other states are ignored.
Outcome map_deployment_status(const boost::json::value& payload, const GithubDeliveryContext& ctx);

// workflow_run / check_run: a finished deployment when the workflow's or
// check's name is one of options.deploy_workflows and it completed with a
// conclusion that says success, failure or cancellation; ignored otherwise.
Outcome map_deploy_run(const boost::json::value& payload, const GithubDeliveryContext& ctx);

// issues: an incident when the issue carries options.incident_label.
Outcome map_issues(const boost::json::value& payload, const GithubDeliveryContext& ctx);

// release: kind other (stored raw, no metric) when published.
Outcome map_release(const boost::json::value& payload, const GithubDeliveryContext& ctx);

}  // namespace fourkeys::parser
