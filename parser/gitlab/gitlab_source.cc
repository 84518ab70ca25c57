#include "parser/gitlab/gitlab_source.h"

#include "common/crypto.h"
#include "common/json.h"
#include "parser/gitlab/gitlab_events.h"
#include "parser/gitlab/gitlab_fields.h"
#include "parser/normalize_support.h"

namespace fourkeys::parser {
namespace {

constexpr std::string_view kSourceName = "gitlab";
constexpr std::string_view kRoute = "/webhooks/gitlab";

// The object_kind an X-Gitlab-Event value stands for; empty for events this
// source does not read. Used only when the body has no object_kind, as the
// header's wording changed between GitLab versions.
std::string kind_from_header(std::string_view header) {
  struct Pair { std::string_view header; std::string_view kind; };
  static constexpr Pair pairs[] = {
      {"Push Hook", "push"},
      {"Tag Push Hook", "tag_push"},
      {"Merge Request Hook", "merge_request"},
      {"Pipeline Hook", "pipeline"},
      {"Job Hook", "build"},
      {"Build Hook", "build"},
      {"Deployment Hook", "deployment"},
      {"Issue Hook", "issue"},
      {"Confidential Issue Hook", "issue"},
      {"Work Item Hook", "work_item"},
      {"Release Hook", "release"},
  };
  for (const auto& p : pairs) {
    if (iequals(header, p.header)) return std::string(p.kind);
  }
  return {};
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

Outcome unsupported_media(std::string_view media, std::string_view source_event) {
  return unsupported(std::string(source_event),
                     "Content-Type " + std::string(media) + " is not accepted; send application/json");
}

// Dispatches on object_kind; `env` is started and has its repository.
Outcome normalize_kind(const std::string& kind, Envelope env, const NormalizeOptions& options) {
  if (kind == "push") return gitlab::push(std::move(env));
  if (kind == "tag_push") return gitlab::tag_push(std::move(env));
  if (kind == "merge_request") return gitlab::merge_request(std::move(env));
  if (kind == "deployment") return gitlab::deployment(std::move(env));
  if (kind == "build") return gitlab::job(std::move(env));
  if (kind == "pipeline") return gitlab::pipeline(std::move(env));
  if (kind == "issue" || kind == "work_item") return gitlab::issue(std::move(env), options);
  if (kind == "release") return gitlab::release(std::move(env));
  return ignored(env.source_event, "object_kind '" + kind + "' carries no DORA signal");
}

class GitlabSource final : public Source {
 public:
  explicit GitlabSource(SecretSet tokens) : tokens_(std::move(tokens)) {}

  std::string_view name() const override { return kSourceName; }

  std::vector<std::string> routes() const override { return {std::string(kRoute)}; }

  // Four Keys' event-handler looks for X-Gitlab-Event; GitLab's own user
  // agent also identifies it when a proxy dropped that header.
  bool recognizes(const Headers& headers) const override {
    return headers.has("X-Gitlab-Event") ||
           starts_with_ignoring_case(headers.get("User-Agent"), "GitLab/");
  }

  // GitLab sends the hook's secret token in clear, so this is a string
  // compare, done on SHA-256 digests so that neither the position of the
  // first difference nor the token's length shows in the time taken, and
  // against every configured token so the time does not say which matched.
  AuthResult authenticate(const Delivery& delivery) const override {
    if (tokens_.empty()) {
      return {AuthStatus::not_configured,
              "the gitlab source is not configured: set FOURKEYS_GITLAB_TOKEN (or "
              "FOURKEYS_GITLAB_TOKEN_FILE)"};
    }
    const std::string_view token = delivery.headers.get("X-Gitlab-Token");
    if (token.empty()) return {AuthStatus::missing, "missing X-Gitlab-Token header"};
    const std::string presented = sha256_hex(token);
    bool match = false;
    for (const auto& configured : tokens_.values) {
      match |= constant_time_equal(presented, sha256_hex(configured));
    }
    if (!match) return {AuthStatus::mismatch, "the X-Gitlab-Token header does not match"};
    return {};
  }

  Outcome normalize(const Delivery& delivery, const NormalizeOptions& options) const override {
    return normalize_gitlab(delivery, options);
  }

 private:
  SecretSet tokens_;
};

}  // namespace

std::unique_ptr<Source> make_gitlab_source(const SourceSettings& settings) {
  return std::make_unique<GitlabSource>(settings.gitlab_tokens);
}

Outcome normalize_gitlab(const Delivery& delivery, const NormalizeOptions& options) {
  const std::string header_event(delivery.headers.get("X-Gitlab-Event"));
  const std::string media = media_type(delivery.headers);
  if (!media.empty() && media != "application/json") return unsupported_media(media, header_event);

  Outcome failed;
  auto body = parse_body(delivery.body, failed);
  if (!body) {
    failed.source_event = header_event;
    return failed;
  }
  std::string kind = gitlab::text_at(*body, {"object_kind"});
  if (kind.empty()) kind = kind_from_header(header_event);
  const std::string source_event = header_event.empty() ? kind : header_event;

  if (!body->is_object()) return dead_letter(source_event, "the body is not a JSON object");
  if (kind.empty()) {
    if (!header_event.empty()) {
      return ignored(source_event, "X-Gitlab-Event '" + header_event + "' carries no DORA signal");
    }
    return dead_letter(source_event, "neither object_kind nor X-Gitlab-Event names the event");
  }

  // Idempotency-Key is stable across retries (GitLab 17.4+); the event UUID
  // (14.8+) is the best older GitLab offers.
  std::string delivery_id(delivery.headers.get("Idempotency-Key"));
  if (delivery_id.empty()) delivery_id = std::string(delivery.headers.get("X-Gitlab-Event-UUID"));

  Envelope env = start_envelope(kSourceName, source_event, delivery_id, delivery.body,
                                std::move(*body), options);
  set_repository(env, gitlab::repository_path(env.raw));
  return normalize_kind(kind, std::move(env), options);
}

}  // namespace fourkeys::parser
