#include "tools/generate/deliveries.h"

#include "common/crypto.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

namespace fourkeys::generate {

namespace json = boost::json;

namespace {

struct Civil {
  int year, month, day, hour, minute, second;
};

// Howard Hinnant's days-to-civil, for times before and after 1970.
Civil civil(Millis t) {
  Millis seconds = t / kSecond;
  if (t % kSecond < 0) --seconds;
  Millis days = seconds / 86400;
  Millis rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  days += 719468;
  const Millis era = (days >= 0 ? days : days - 146096) / 146097;
  const Millis doe = days - era * 146097;
  const Millis yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const Millis doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const Millis mp = (5 * doy + 2) / 153;
  const Millis d = doy - (153 * mp + 2) / 5 + 1;
  const Millis m = mp < 10 ? mp + 3 : mp - 9;
  const Millis y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return {static_cast<int>(y), static_cast<int>(m), static_cast<int>(d), static_cast<int>(rest / 3600),
          static_cast<int>(rest / 60 % 60), static_cast<int>(rest % 60)};
}

std::string date_time(Millis t, char separator) {
  const Civil c = civil(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d%c%02d:%02d:%02d", c.year, c.month, c.day, separator, c.hour,
                c.minute, c.second);
  return buf;
}

std::string zone_text(int offset_minutes, bool colon) {
  if (offset_minutes == 0 && colon) return "Z";
  char buf[16];
  const int a = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  std::snprintf(buf, sizeof buf, colon ? "%c%02d:%02d" : "%c%02d%02d", offset_minutes < 0 ? '-' : '+', a / 60, a % 60);
  return buf;
}

std::string millis_z(Millis t) { return date_time(t, 'T') + ".000Z"; }
std::string micros_z(Millis t) { return date_time(t, 'T') + ".000000Z"; }

// ---- bodies shared by the events of one sender -------------------------------------

std::string owner_of(const std::string& path) { return path.substr(0, path.find('/')); }
std::string short_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string login_of(const std::string& author) {
  std::string login;
  for (char c : author) {
    if (c == ' ') login += '-';
    else if (static_cast<unsigned char>(c) < 0x80) login += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return login;
}

json::object github_user(const std::string& login, std::int64_t id) {
  return {{"login", login},
          {"id", id},
          {"node_id", "MDQ6VXNlcj" + std::to_string(id)},
          {"avatar_url", "https://avatars.githubusercontent.com/u/" + std::to_string(id) + "?v=4"},
          {"url", "https://api.github.com/users/" + login},
          {"html_url", "https://github.com/" + login},
          {"type", "User"},
          {"site_admin", false}};
}

json::object github_repository(const Service& s, const History& h) {
  const std::string owner = owner_of(s.name);
  return {{"id", s.project_id},
          {"node_id", "R_kgDO" + std::to_string(s.project_id)},
          {"name", short_name(s.name)},
          {"full_name", s.name},
          {"private", true},
          {"owner", json::object{{"login", owner}, {"id", 9919}, {"type", "Organization"},
                                 {"html_url", "https://github.com/" + owner}}},
          {"html_url", "https://github.com/" + s.name},
          {"description", nullptr},
          {"fork", false},
          {"url", "https://api.github.com/repos/" + s.name},
          {"created_at", rfc3339(h.from - 400 * kDay)},
          {"updated_at", rfc3339(h.from - 2 * kDay)},
          {"git_url", "git://github.com/" + s.name + ".git"},
          {"ssh_url", "git@github.com:" + s.name + ".git"},
          {"clone_url", "https://github.com/" + s.name + ".git"},
          {"visibility", "private"},
          {"default_branch", "main"}};
}

json::object github_commit(const Service& s, const Commit& c) {
  const std::string login = login_of(c.author);
  return {{"id", c.sha},
          {"tree_id", sha1_hex(c.sha)},
          {"distinct", true},
          {"message", c.message},
          {"timestamp", rfc3339_offset(c.time, c.utc_offset_minutes)},
          {"url", "https://github.com/" + s.name + "/commit/" + c.sha},
          {"author", json::object{{"name", c.author}, {"email", c.email}, {"username", login}}},
          {"committer", json::object{{"name", "GitHub"}, {"email", "noreply@github.com"}, {"username", "web-flow"}}},
          {"added", json::array{}},
          {"removed", json::array{}},
          {"modified", json::array{"src/" + login + ".go"}}};
}

json::object gitlab_project(const Service& s) {
  const std::string web = "https://gitlab.com/" + s.name;
  const std::string ns = s.name.substr(0, s.name.rfind('/'));
  return {{"id", s.project_id},
          {"name", short_name(s.name)},
          {"description", ""},
          {"web_url", web},
          {"avatar_url", nullptr},
          {"git_ssh_url", "git@gitlab.com:" + s.name + ".git"},
          {"git_http_url", web + ".git"},
          {"namespace", short_name(ns)},
          {"visibility_level", 0},
          {"path_with_namespace", s.name},
          {"default_branch", "main"},
          {"ci_config_path", ""},
          {"homepage", web},
          {"url", "git@gitlab.com:" + s.name + ".git"},
          {"ssh_url", "git@gitlab.com:" + s.name + ".git"},
          {"http_url", web + ".git"}};
}

json::object gitlab_repository(const Service& s) {
  const std::string web = "https://gitlab.com/" + s.name;
  return {{"name", short_name(s.name)},
          {"url", "git@gitlab.com:" + s.name + ".git"},
          {"description", ""},
          {"homepage", web},
          {"git_http_url", web + ".git"},
          {"git_ssh_url", "git@gitlab.com:" + s.name + ".git"},
          {"visibility_level", 0}};
}

json::object gitlab_user(const std::string& name, std::int64_t id) {
  return {{"id", id},
          {"name", name},
          {"username", login_of(name)},
          {"avatar_url", "https://secure.gravatar.com/avatar/" + sha256_hex(name).substr(0, 32) + "?s=80&d=identicon"},
          {"email", "[REDACTED]"}};
}

json::object gitlab_commit(const Service& s, const Commit& c) {
  return {{"id", c.sha},
          {"message", c.message + "\n"},
          {"title", c.message.substr(0, c.message.find('\n'))},
          {"timestamp", rfc3339_offset(c.time, c.utc_offset_minutes)},
          {"url", "https://gitlab.com/" + s.name + "/-/commit/" + c.sha},
          {"author", json::object{{"name", c.author}, {"email", c.email}}},
          {"added", json::array{}},
          {"modified", json::array{"app/" + login_of(c.author) + ".rb"}},
          {"removed", json::array{}}};
}

// Python's str() of a datetime without microseconds, as Four Keys'
// generator serializes its times (json.dumps(default=str)).
std::string python_datetime(Millis t) { return date_time(t, ' '); }

// ---- one renderer per history ---------------------------------------------------------

class Renderer {
 public:
  Renderer(const History& h, const Secrets& secrets)
      : h_(h), secrets_(secrets), r_(h.options.seed ^ 0x9e3779b97f4a7c15ULL) {}

  std::vector<Delivery> run() {
    for (const Service& s : h_.services) {
      if (h_.options.four_keys) {
        four_keys_service(s);
        continue;
      }
      switch (s.family) {
        case Family::github: github_service(s); break;
        case Family::gitlab: gitlab_service(s); break;
        case Family::api: api_service(s); break;
        case Family::cdevents: cdevents_service(s); break;
      }
    }
    std::stable_sort(out_.begin(), out_.end(), [](const Delivery& a, const Delivery& b) { return a.time < b.time; });
    return std::move(out_);
  }

 private:
  const History& h_;
  const Secrets& secrets_;
  Random r_;
  std::vector<Delivery> out_;

  static std::string first(const std::vector<std::string>& values) { return values.empty() ? "" : values.front(); }

  std::string base_sha(const Service& s) {
    // The default branch's head before the window: a commit nobody reports.
    return sha1_hex("base:" + s.name);
  }

  std::string before_of(const Service& s, const Push& p) {
    return p.first == 0 ? base_sha(s) : s.chain[static_cast<std::size_t>(p.first - 1)].sha;
  }

  Delivery& add(const Service& s, Millis time, std::string source, std::string event, std::string path,
                std::string body, bool stored = true) {
    Delivery d;
    d.time = time;
    d.service = s.name;
    d.source = std::move(source);
    d.event = std::move(event);
    d.path = std::move(path);
    d.body = std::move(body);
    d.stored = stored;
    out_.push_back(std::move(d));
    return out_.back();
  }

  // ---- GitHub ----------------------------------------------------------------------

  void github(const Service& s, Millis time, const std::string& event, const json::object& body, bool stored = true) {
    Delivery& d = add(s, time, "github", event, "/webhooks/github", json::serialize(body), stored);
    const std::string secret = first(secrets_.github);
    d.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "GitHub-Hookshot/2f7c3b1"},
                 {"X-GitHub-Event", event},
                 {"X-GitHub-Delivery", r_.uuid()},
                 {"X-GitHub-Hook-ID", std::to_string(s.project_id % 1000000 + 400000000)},
                 {"X-GitHub-Hook-Installation-Target-Type", "repository"},
                 {"X-GitHub-Hook-Installation-Target-ID", std::to_string(s.project_id)},
                 {"X-Hub-Signature", "sha1=" + hmac_sha1_hex(secret, d.body)},
                 {"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(secret, d.body)}};
  }

  json::object github_deployment(const Service& s, const Attempt& a, Millis updated) {
    const std::string url = "https://api.github.com/repos/" + s.name + "/deployments/" + std::to_string(a.number);
    json::object payload;
    std::string task = "deploy";
    if (a.flagged_rollback) {
      // Deploy tools mark a rollback either way.
      if (a.number % 2 == 0) task = "rollback";
      else payload["rollback"] = true;
    }
    if (a.hotfix) payload["hotfix"] = true;
    const std::string& sha = s.chain[static_cast<std::size_t>(a.head)].sha;
    return {{"url", url},
            {"id", a.number},
            {"node_id", "DE_kwDO" + std::to_string(a.number)},
            {"task", task},
            {"original_environment", a.environment},
            {"environment", a.environment},
            {"description", nullptr},
            {"created_at", rfc3339(a.started_at)},
            {"updated_at", rfc3339(updated)},
            {"statuses_url", url + "/statuses"},
            {"repository_url", "https://api.github.com/repos/" + s.name},
            {"creator", github_user("github-actions[bot]", 41898282)},
            {"sha", sha},
            {"ref", "main"},
            {"payload", payload},
            {"transient_environment", false},
            {"production_environment", a.environment == "production"},
            {"performed_via_github_app", nullptr}};
  }

  void github_service(const Service& s) {
    const json::object repo = github_repository(s, h_);
    const json::object sender = github_user(login_of(s.chain.empty() ? "acme-bot" : s.chain.front().author), 5820001);
    github(s, h_.from + kMinute, "ping",
           {{"zen", "Keep it logically awesome."},
            {"hook_id", s.project_id % 1000000 + 400000000},
            {"hook", json::object{{"type", "Repository"}, {"active", true},
                                  {"events", json::array{"push", "pull_request", "deployment", "deployment_status", "issues"}},
                                  {"config", json::object{{"content_type", "json"}, {"insecure_ssl", "0"},
                                                          {"url", "https://fourkeys.acme.example/webhooks/github"}}}}},
            {"repository", repo},
            {"sender", sender}},
           false);

    for (const Push& p : s.pushes) {
      json::array commits;
      for (int i = p.first; i <= p.last; ++i) commits.push_back(github_commit(s, s.chain[static_cast<std::size_t>(i)]));
      const Commit& head = s.chain[static_cast<std::size_t>(p.last)];
      const std::string before = before_of(s, p);
      json::object repo_now = repo;
      repo_now["pushed_at"] = p.time / kSecond;
      const std::string pusher = p.merge ? "web-flow" : login_of(head.author);
      github(s, p.time + kSecond, "push",
             {{"ref", "refs/heads/main"},
              {"before", before},
              {"after", head.sha},
              {"repository", repo_now},
              {"pusher", json::object{{"name", pusher}, {"email", head.email}}},
              {"sender", github_user(pusher, 7000 + p.first)},
              {"created", false},
              {"deleted", false},
              {"forced", false},
              {"base_ref", nullptr},
              {"compare", "https://github.com/" + s.name + "/compare/" + before.substr(0, 12) + "..." + head.sha.substr(0, 12)},
              {"commits", commits},
              {"head_commit", github_commit(s, head)}});
      if (!p.merge) continue;
      const Merge& m = *p.merge;
      const Commit& branch_head = s.chain[static_cast<std::size_t>(p.last - 1)];
      const std::int64_t pr_id = s.project_id * 10 + m.number;
      const std::string author = login_of(s.chain[static_cast<std::size_t>(p.first)].author);
      github(s, p.time + 2 * kSecond, "pull_request",
             {{"action", "closed"},
              {"number", m.number},
              {"pull_request",
               json::object{{"url", "https://api.github.com/repos/" + s.name + "/pulls/" + std::to_string(m.number)},
                            {"id", pr_id},
                            {"node_id", "PR_kwDO" + std::to_string(pr_id)},
                            {"html_url", "https://github.com/" + s.name + "/pull/" + std::to_string(m.number)},
                            {"number", m.number},
                            {"state", "closed"},
                            {"locked", false},
                            {"title", m.title},
                            {"user", github_user(author, 7100 + m.number)},
                            {"body", nullptr},
                            {"created_at", rfc3339(m.opened_at)},
                            {"updated_at", rfc3339(p.time)},
                            {"closed_at", rfc3339(p.time)},
                            {"merged_at", rfc3339(p.time)},
                            {"merge_commit_sha", head.sha},
                            {"draft", false},
                            {"head", json::object{{"label", owner_of(s.name) + ":" + m.branch}, {"ref", m.branch},
                                                  {"sha", branch_head.sha}}},
                            {"base", json::object{{"label", owner_of(s.name) + ":main"}, {"ref", "main"}, {"sha", before}}},
                            {"merged", true},
                            {"mergeable", nullptr},
                            {"merged_by", github_user(login_of(head.author), 7200 + m.number)},
                            {"comments", m.number % 4},
                            {"commits", p.last - p.first},
                            {"additions", 12 + m.number * 7 % 300},
                            {"deletions", 3 + m.number * 5 % 120},
                            {"changed_files", 1 + m.number % 9}}},
              {"repository", repo},
              {"sender", github_user(login_of(head.author), 7200 + m.number)}});
    }

    for (const Attempt& a : s.attempts) {
      github(s, a.started_at, "deployment",
             {{"action", "created"}, {"deployment", github_deployment(s, a, a.started_at)}, {"repository", repo},
              {"sender", github_user("github-actions[bot]", 41898282)}});
      auto status = [&](Millis at, const std::string& state, bool stored) {
        const std::int64_t status_id = a.number * 10 + (stored ? 2 : 1);
        github(s, at, "deployment_status",
               {{"action", "created"},
                {"deployment_status",
                 json::object{{"url", "https://api.github.com/repos/" + s.name + "/deployments/" + std::to_string(a.number) +
                                          "/statuses/" + std::to_string(status_id)},
                              {"id", status_id},
                              {"node_id", "DES_kwDO" + std::to_string(status_id)},
                              {"state", state},
                              {"creator", github_user("github-actions[bot]", 41898282)},
                              {"description", state == "in_progress" ? "Deploying" : ""},
                              {"environment", a.environment},
                              {"target_url", "https://github.com/" + s.name + "/actions/runs/" + std::to_string(a.number * 3)},
                              {"created_at", rfc3339(at)},
                              {"updated_at", rfc3339(at)},
                              {"deployment_url", "https://api.github.com/repos/" + s.name + "/deployments/" + std::to_string(a.number)},
                              {"repository_url", "https://api.github.com/repos/" + s.name}}},
                {"deployment", github_deployment(s, a, at)},
                {"repository", repo},
                {"sender", github_user("github-actions[bot]", 41898282)}},
               stored);
      };
      // GitHub Actions reports progress; it is no outcome, so it is not stored.
      if (a.number % 3 != 0) status(a.started_at + 20 * kSecond, "in_progress", false);
      std::string state = a.status;
      if (state == "failure" && a.number % 5 == 0) state = "error";
      status(a.finished_at, state, true);
    }

    for (const Incident& i : s.incidents) {
      if (i.source == IncidentSource::github_issue) github_issue(s, i, repo);
      else pagerduty_incident(s, i);
    }
  }

  std::string issue_body(const Incident& i) {
    std::string body = "Alert fired: " + i.title + ".\n\n";
    if (i.root_cause_text.empty()) return body + "Investigating; root cause unknown.";
    if (i.number % 2 == 0) return body + "Root cause: `" + i.root_cause_text + "`";
    return body + "root cause: " + i.root_cause_text + " (found by bisecting)";
  }

  void github_issue(const Service& s, const Incident& i, const json::object& repo) {
    const std::string reporter = "oncall-" + std::to_string(i.number % 3 + 1);
    auto issue = [&](const std::string& state, Millis updated, const std::optional<Millis>& closed) {
      const std::int64_t id = s.project_id * 100 + i.number;
      const std::string api = "https://api.github.com/repos/" + s.name + "/issues/" + std::to_string(i.number);
      return json::object{
          {"url", api},
          {"repository_url", "https://api.github.com/repos/" + s.name},
          {"html_url", "https://github.com/" + s.name + "/issues/" + std::to_string(i.number)},
          {"id", id},
          {"node_id", "I_kwDO" + std::to_string(id)},
          {"number", i.number},
          {"title", i.title},
          {"user", github_user(reporter, 8100 + i.number % 3)},
          {"labels", json::array{json::object{{"id", 6100000001}, {"node_id", "LA_kwDOincident"},
                                              {"url", "https://api.github.com/repos/" + s.name + "/labels/Incident"},
                                              {"name", "Incident"}, {"color", "d73a4a"}, {"default", false},
                                              {"description", "Production incident"}}}},
          {"state", state},
          {"locked", false},
          {"assignee", nullptr},
          {"assignees", json::array{}},
          {"milestone", nullptr},
          {"comments", state == "closed" ? 3 : 0},
          {"created_at", rfc3339(i.opened_at)},
          {"updated_at", rfc3339(updated)},
          {"closed_at", closed ? json::value(rfc3339(*closed)) : json::value(nullptr)},
          {"author_association", "MEMBER"},
          {"body", issue_body(i)},
          {"state_reason", closed ? json::value("completed") : json::value(nullptr)}};
    };
    github(s, i.opened_at, "issues",
           {{"action", "opened"}, {"issue", issue("open", i.opened_at, std::nullopt)}, {"repository", repo},
            {"sender", github_user(reporter, 8100 + i.number % 3)}});
    // An issue opened with a label is also reported as labeled.
    if (i.number % 2 == 1) {
      json::object labeled{{"action", "labeled"},
                           {"issue", issue("open", i.opened_at + 2 * kSecond, std::nullopt)},
                           {"label", json::object{{"name", "Incident"}, {"color", "d73a4a"}}},
                           {"repository", repo},
                           {"sender", github_user(reporter, 8100 + i.number % 3)}};
      github(s, i.opened_at + 2 * kSecond, "issues", labeled);
    }
    if (i.resolved_at) {
      github(s, *i.resolved_at, "issues",
             {{"action", "closed"}, {"issue", issue("closed", *i.resolved_at, i.resolved_at)}, {"repository", repo},
              {"sender", github_user(reporter, 8100 + i.number % 3)}});
    }
  }

  // ---- PagerDuty --------------------------------------------------------------------

  void pagerduty_incident(const Service& s, const Incident& i) {
    const std::string account = "https://acme.pagerduty.com";
    const std::string key = sha1_hex(i.id).substr(0, 32);
    std::string title = i.title + " on " + s.name;
    if (!i.root_cause_text.empty()) title += " (root cause: " + i.root_cause_text + ")";
    auto send = [&](Millis at, const std::string& type, const std::string& status) {
      json::object agent{{"html_url", account + "/users/PJ0LVEB"}, {"id", "PJ0LVEB"},
                         {"self", "https://api.pagerduty.com/users/PJ0LVEB"}, {"summary", "On-call engineer"},
                         {"type", "user_reference"}};
      json::object data{
          {"id", i.id},
          {"type", "incident"},
          {"self", "https://api.pagerduty.com/incidents/" + i.id},
          {"html_url", account + "/incidents/" + i.id},
          {"number", i.opened_at / kSecond % 100000},
          {"status", status},
          {"incident_key", key},
          {"created_at", millis_z(i.opened_at)},
          {"title", title},
          {"service", json::object{{"html_url", account + "/services/" + s.pagerduty_service_id},
                                   {"id", s.pagerduty_service_id},
                                   {"self", "https://api.pagerduty.com/services/" + s.pagerduty_service_id},
                                   {"summary", s.name},
                                   {"type", "service_reference"}}},
          {"assignees", json::array{}},
          {"escalation_policy", json::object{{"html_url", account + "/escalation_policies/" + s.pagerduty_policy_id},
                                             {"id", s.pagerduty_policy_id},
                                             {"self", "https://api.pagerduty.com/escalation_policies/" + s.pagerduty_policy_id},
                                             {"summary", "Default"},
                                             {"type", "escalation_policy_reference"}}},
          {"teams", json::array{}},
          {"priority", nullptr},
          {"urgency", i.severity == "low" ? "low" : "high"},
          {"conference_bridge", nullptr},
          {"resolve_reason", nullptr}};
      json::object body{{"event", json::object{{"id", r_.alnum(26)},
                                               {"event_type", type},
                                               {"resource_type", "incident"},
                                               {"occurred_at", millis_z(at)},
                                               {"agent", type == "incident.triggered" ? json::value(nullptr) : json::value(agent)},
                                               {"client", type == "incident.triggered"
                                                              ? json::value(json::object{{"name", "Prometheus Alertmanager"}})
                                                              : json::value(nullptr)},
                                               {"data", data}}}};
      Delivery& d = add(s, at, "pagerduty", type, "/webhooks/pagerduty", json::serialize(body));
      std::string signature;
      for (const std::string& secret : secrets_.pagerduty) {
        if (!signature.empty()) signature += ",";
        signature += "v1=" + hmac_sha256_hex(secret, d.body);
      }
      d.headers = {{"Content-Type", "application/json; charset=utf-8"},
                   {"User-Agent", "PagerDuty-Webhook/V3.0"},
                   {"X-Webhook-Id", r_.uuid()},
                   {"X-Webhook-Subscription", "PSUB" + s.pagerduty_service_id.substr(1)},
                   {"X-PagerDuty-Signature", signature}};
    };
    send(i.opened_at, "incident.triggered", "triggered");
    if (i.acknowledged_at) send(*i.acknowledged_at, "incident.acknowledged", "acknowledged");
    if (i.first_resolved_at && i.reopened_at) {
      send(*i.first_resolved_at, "incident.resolved", "resolved");
      send(*i.reopened_at, "incident.reopened", "triggered");
    }
    if (i.resolved_at) send(*i.resolved_at, "incident.resolved", "resolved");
  }

  // ---- GitLab ----------------------------------------------------------------------

  void gitlab(const Service& s, Millis time, const std::string& event, const json::object& body, bool stored = true) {
    Delivery& d = add(s, time, "gitlab", event, "/webhooks/gitlab", json::serialize(body), stored);
    d.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "GitLab/17.5.0"},
                 {"X-Gitlab-Event", event},
                 {"X-Gitlab-Token", first(secrets_.gitlab)},
                 {"X-Gitlab-Instance", "https://gitlab.com"},
                 {"X-Gitlab-Webhook-UUID", sha1_hex("hook:" + s.name).substr(0, 8) + "-7d1e-4c57-9a2b-5b0e6a1c3f00"},
                 {"X-Gitlab-Event-UUID", r_.uuid()},
                 {"Idempotency-Key", r_.uuid()}};
  }

  void gitlab_service(const Service& s) {
    const json::object project = gitlab_project(s);
    const json::object repository = gitlab_repository(s);
    for (const Push& p : s.pushes) {
      json::array commits;
      for (int i = p.first; i <= p.last; ++i) commits.push_back(gitlab_commit(s, s.chain[static_cast<std::size_t>(i)]));
      const Commit& head = s.chain[static_cast<std::size_t>(p.last)];
      const std::string user = p.merge ? "Merge Bot" : head.author;
      gitlab(s, p.time + kSecond, "Push Hook",
             {{"object_kind", "push"},
              {"event_name", "push"},
              {"before", before_of(s, p)},
              {"after", head.sha},
              {"ref", "refs/heads/main"},
              {"ref_protected", true},
              {"checkout_sha", head.sha},
              {"message", nullptr},
              {"user_id", 3100 + p.first % 7},
              {"user_name", user},
              {"user_username", login_of(user)},
              {"user_email", ""},
              {"user_avatar", "https://secure.gravatar.com/avatar/" + sha256_hex(user).substr(0, 32) + "?s=80&d=identicon"},
              {"project_id", s.project_id},
              {"project", project},
              {"commits", commits},
              {"total_commits_count", p.last - p.first + 1},
              {"push_options", json::object{}},
              {"repository", repository}});
      if (!p.merge) continue;
      const Merge& m = *p.merge;
      const Commit& last = s.chain[static_cast<std::size_t>(p.last - 1)];
      gitlab(s, p.time + 2 * kSecond, "Merge Request Hook",
             {{"object_kind", "merge_request"},
              {"event_type", "merge_request"},
              {"user", gitlab_user(head.author, 3200 + m.number % 5)},
              {"project", project},
              {"object_attributes",
               json::object{{"id", s.project_id * 10 + m.number},
                            {"iid", m.number},
                            {"target_branch", "main"},
                            {"source_branch", m.branch},
                            {"source_project_id", s.project_id},
                            {"target_project_id", s.project_id},
                            {"author_id", 3300 + m.number % 5},
                            {"title", m.title},
                            {"created_at", space_time(m.opened_at, "UTC")},
                            {"updated_at", space_time(p.time, "UTC")},
                            {"state", "merged"},
                            {"merge_status", "can_be_merged"},
                            {"detailed_merge_status", "mergeable"},
                            {"merge_commit_sha", head.sha},
                            {"last_commit", gitlab_commit(s, last)},
                            {"url", "https://gitlab.com/" + s.name + "/-/merge_requests/" + std::to_string(m.number)},
                            {"description", "Closes the work on " + m.branch + "."},
                            {"draft", false},
                            {"action", "merge"}}},
              {"labels", json::array{}},
              {"changes", json::object{{"state_id", json::object{{"previous", 1}, {"current", 3}}}}},
              {"repository", repository}});
    }

    for (const Attempt& a : s.attempts) {
      const Commit& c = s.chain[static_cast<std::size_t>(a.head)];
      auto hook = [&](Millis at, const std::string& status, bool stored) {
        gitlab(s, at, "Deployment Hook",
               {{"object_kind", "deployment"},
                {"status", status},
                {"status_changed_at", space_time(at, "+0000")},
                {"deployment_id", a.number * 7},
                {"deployable_id", a.number},
                {"deployable_url", "https://gitlab.com/" + s.name + "/-/jobs/" + std::to_string(a.number)},
                {"environment", a.environment},
                {"environment_tier", a.environment},
                {"environment_slug", a.environment},
                {"environment_external_url", "https://" + a.environment + "." + short_name(s.name) + ".acme.example"},
                {"project", project},
                {"short_sha", c.sha.substr(0, 8)},
                {"user", gitlab_user("Deploy Bot", 3999)},
                {"user_url", "https://gitlab.com/deploy-bot"},
                {"commit_url", "https://gitlab.com/" + s.name + "/-/commit/" + c.sha},
                {"commit_title", c.message.substr(0, c.message.find('\n'))},
                {"ref", "main"}},
               stored);
      };
      // "running" is no outcome: the receiver takes it and stores nothing.
      hook(a.started_at, "running", false);
      std::string status = a.status == "success" ? "success" : (a.number % 4 == 0 ? "canceled" : "failed");
      hook(a.finished_at, status, true);
    }

    for (const Incident& i : s.incidents) {
      auto hook = [&](Millis at, bool closed) {
        std::string description = "Alert fired: " + i.title + ".";
        if (!i.root_cause_text.empty()) description += "\n\nRoot cause: " + i.root_cause_text;
        gitlab(s, at, "Issue Hook",
               {{"object_kind", "issue"},
                {"event_type", "issue"},
                {"user", gitlab_user("On-call Engineer", 3500)},
                {"project", project},
                {"object_attributes",
                 json::object{{"author_id", 3500},
                              {"closed_at", closed ? json::value(millis_z(at)) : json::value(nullptr)},
                              {"confidential", false},
                              {"created_at", millis_z(i.opened_at)},
                              {"description", description},
                              {"id", s.project_id * 100 + i.number},
                              {"iid", i.number},
                              {"project_id", s.project_id},
                              {"title", i.title},
                              {"updated_at", millis_z(at)},
                              {"state", closed ? "closed" : "opened"},
                              {"type", "Incident"},
                              {"issue_type", "incident"},
                              {"url", "https://gitlab.com/" + s.name + "/-/issues/" + std::to_string(i.number)},
                              {"labels", json::array{}},
                              {"severity", i.severity},
                              {"escalation_status", closed ? "resolved" : "triggered"},
                              {"action", closed ? "close" : "open"}}},
                {"labels", json::array{}},
                {"changes", json::object{}},
                {"repository", repository}});
      };
      hook(i.opened_at, false);
      if (i.resolved_at) hook(*i.resolved_at, true);
    }
  }

  // ---- the seed's API ----------------------------------------------------------------

  void api(const Service& s, Millis time, const std::string& event, const std::string& path, const json::object& body) {
    Delivery& d = add(s, time, "api", event, path, json::serialize(body));
    d.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "curl/7.88.1"},
                 {"Authorization", "Bearer " + first(secrets_.api)}};
  }

  void api_service(const Service& s) {
    for (const Attempt& a : s.attempts) {
      const Commit& c = s.chain[static_cast<std::size_t>(a.head)];
      api(s, a.finished_at, "deployment", "/events/deployment",
          {{"service", s.name},
           {"environment", a.environment},
           {"commit_sha", c.sha},
           {"commit_timestamp", rfc3339(c.time)},
           {"started_at", rfc3339(a.started_at)},
           {"deployed_at", rfc3339(a.finished_at)},
           {"status", a.status == "success" ? "success" : "failed"},
           {"deployment_id", "deploy-" + std::to_string(a.number)},
           {"is_rollback", a.flagged_rollback},
           {"is_hotfix", a.hotfix}});
    }
    for (const Incident& i : s.incidents) {
      json::object body{{"incident_id", i.id},
                        {"service", s.name},
                        {"environment", i.environment},
                        {"severity", i.severity == "low" ? "SEV3" : "SEV2"},
                        {"title", i.title},
                        {"detected_at", rfc3339(i.opened_at)}};
      if (!i.root_cause_text.empty()) body["root_cause_sha"] = i.root_cause_text;
      api(s, i.opened_at, "incident", "/events/incident", body);
      if (i.resolved_at) {
        body["resolved_at"] = rfc3339(*i.resolved_at);
        api(s, *i.resolved_at, "incident", "/events/incident", body);
      }
    }
  }

  // ---- CDEvents ----------------------------------------------------------------------

  void cdevent(const Service& s, Millis time, const std::string& type, json::object subject, json::value custom) {
    const std::string id = r_.uuid();
    const std::string source = type.find("incident") != std::string::npos ? "/monitoring/" + s.name : "/ci/" + s.name;
    json::object event{{"context", json::object{{"version", "0.4.1"},
                                                {"id", id},
                                                {"source", source},
                                                {"type", type},
                                                {"timestamp", micros_z(time)}}},
                       {"subject", std::move(subject)}};
    if (!custom.is_null()) {
      event["customData"] = std::move(custom);
      event["customDataContentType"] = "application/json";
    }
    const std::string event_name = type.substr(13, type.rfind(".0.") - 13);
    // Emitters use both CloudEvents modes.
    if (r_.chance(0.5)) {
      Delivery& d = add(s, time, "cdevents", event_name, "/webhooks/cdevents", json::serialize(event));
      d.headers = {{"Content-Type", "application/json"},
                   {"Authorization", "Bearer " + first(secrets_.api)},
                   {"ce-specversion", "1.0"},
                   {"ce-id", id},
                   {"ce-source", source},
                   {"ce-type", type},
                   {"ce-time", micros_z(time)}};
    } else {
      json::object cloud{{"specversion", "1.0"}, {"id", id}, {"source", source}, {"type", type},
                         {"time", micros_z(time)}, {"datacontenttype", "application/json"}, {"data", event}};
      Delivery& d = add(s, time, "cdevents", event_name, "/webhooks/cdevents", json::serialize(cloud));
      d.headers = {{"Content-Type", "application/cloudevents+json"}, {"Authorization", "Bearer " + first(secrets_.api)}};
    }
  }

  void cdevents_service(const Service& s) {
    std::set<std::string> deployed;
    for (const Attempt& a : s.attempts) {
      std::string type = "dev.cdevents.service.deployed.0.2.0";
      if (a.kind == AttemptKind::rollback) type = "dev.cdevents.service.rolledback.0.2.0";
      else if (deployed.count(a.environment)) type = "dev.cdevents.service.upgraded.0.2.0";
      deployed.insert(a.environment);
      cdevent(s, a.finished_at, type,
              {{"id", s.name},
               {"source", "/clusters/" + a.environment},
               {"type", "service"},
               {"content", json::object{{"environment", json::object{{"id", a.environment}, {"source", "/clusters/eu-west-1"}}},
                                        {"artifactId", "pkg:oci/" + s.name + "@sha256%3A" + sha256_hex(std::to_string(a.number))}}}},
              nullptr);
    }
    for (const Incident& i : s.incidents) {
      auto subject = [&](const std::string& description) {
        return json::object{{"id", i.id},
                            {"source", "/monitoring/" + s.name},
                            {"type", "incident"},
                            {"content", json::object{{"description", description},
                                                     {"environment", json::object{{"id", i.environment}, {"source", "/clusters/eu-west-1"}}},
                                                     {"service", json::object{{"id", s.name}, {"source", "/clusters/" + i.environment}}}}}};
      };
      cdevent(s, i.opened_at, "dev.cdevents.incident.detected.0.2.0", subject(i.title),
              json::object{{"severity", i.severity}, {"metric", "error_rate"}});
      if (i.resolved_at) {
        cdevent(s, *i.resolved_at, "dev.cdevents.incident.resolved.0.2.0", subject(i.title + " recovered"), nullptr);
      }
    }
  }

  // ---- Four Keys' generator's shapes --------------------------------------------------

  // Four Keys' data generator posts to the event handler's root with the
  // legacy SHA-1 signature (GitHub) or the token (GitLab), its own minimal
  // bodies, and a `Mock` header. The one addition here is the repository
  // (GitHub) or project (GitLab): without it every service would be
  // "unknown".
  void four_keys(const Service& s, Millis time, const std::string& event, const json::object& body, bool stored = true) {
    const bool is_github = s.family == Family::github;
    Delivery& d = add(s, time, is_github ? "github" : "gitlab", event, "/", json::serialize(body), stored);
    if (is_github) {
      d.headers = {{"X-Github-Event", event},
                   {"X-Hub-Signature", "sha1=" + hmac_sha1_hex(first(secrets_.github), d.body)},
                   {"User-Agent", "GitHub-Hookshot/mock"},
                   {"Content-Type", "application/json"},
                   {"Mock", "True"}};
    } else {
      d.headers = {{"X-Gitlab-Event", event},
                   {"X-Gitlab-Token", first(secrets_.gitlab)},
                   {"Content-Type", "application/json"},
                   {"Mock", "True"}};
    }
  }

  void four_keys_service(const Service& s) {
    const bool is_github = s.family == Family::github;
    auto owner = [&](json::object body) {
      if (is_github) body["repository"] = json::object{{"name", short_name(s.name)}, {"full_name", s.name}};
      else body["project"] = json::object{{"path_with_namespace", s.name}};
      return body;
    };
    auto commit = [&](const Commit& c) { return json::object{{"id", c.sha}, {"timestamp", python_datetime(c.time)}}; };
    auto push_body = [&](const std::string& before, const json::array& commits, const Commit& head) {
      if (is_github) return owner({{"head_commit", commit(head)}, {"before", before}, {"commits", commits}});
      return owner({{"object_kind", "push"}, {"before", before}, {"checkout_sha", head.sha}, {"commits", commits}});
    };
    for (const Push& p : s.pushes) {
      // Each commit but the head alone first, chained from a new branch
      // (forty zeros), then the whole push.
      std::string before(40, '0');
      json::array all;
      for (int i = p.first; i <= p.last; ++i) {
        const Commit& c = s.chain[static_cast<std::size_t>(i)];
        all.push_back(commit(c));
        if (i == p.last) continue;
        four_keys(s, p.time, "push", push_body(before, json::array{commit(c)}, c));
        before = c.sha;
      }
      four_keys(s, p.time + kSecond, "push", push_body(before_of(s, p), all, s.chain[static_cast<std::size_t>(p.last)]));
    }
    for (const Attempt& a : s.attempts) {
      const Commit& c = s.chain[static_cast<std::size_t>(a.head)];
      if (is_github) {
        four_keys(s, a.finished_at, "deployment_status",
                  owner({{"deployment_status", json::object{{"updated_at", python_datetime(a.finished_at)},
                                                            {"id", r_.hex(40)},
                                                            {"state", a.status}}},
                         {"deployment", json::object{{"sha", c.sha}}}}));
      } else {
        four_keys(s, a.finished_at, "deployment",
                  owner({{"object_kind", "deployment"},
                         {"status", a.status == "success" ? "success" : "failed"},
                         {"status_changed_at", space_time(a.finished_at, "+0200")},
                         {"deployment_id", a.number},
                         {"commit_url", "http://example.com/" + s.name + "/commit/" + c.sha}}));
      }
    }
    for (const Incident& i : s.incidents) {
      const Millis closed = i.resolved_at ? *i.resolved_at : h_.to - kMinute;
      const std::string cause = "root cause: " + (i.root_cause_text.empty() ? std::string("unknown") : i.root_cause_text);
      if (is_github) {
        four_keys(s, closed, "issues",
                  owner({{"issue", json::object{{"created_at", python_datetime(i.opened_at)},
                                                {"updated_at", python_datetime(closed)},
                                                {"closed_at", python_datetime(closed)},
                                                {"number", i.number},
                                                {"labels", json::array{json::object{{"name", "Incident"}}}},
                                                {"body", cause}}}}));
      } else {
        four_keys(s, closed, "issues",
                  owner({{"object_kind", "issue"},
                         {"object_attributes", json::object{{"created_at", python_datetime(i.opened_at)},
                                                            {"updated_at", python_datetime(closed)},
                                                            {"closed_at", python_datetime(closed)},
                                                            {"id", i.number},
                                                            {"labels", json::array{json::object{{"title", "Incident"}}}},
                                                            {"description", cause}}}}));
      }
    }
  }
};

}  // namespace

std::string rfc3339(Millis t) { return date_time(t, 'T') + "Z"; }

std::string rfc3339_offset(Millis t, int offset_minutes) {
  return date_time(t + offset_minutes * kMinute, 'T') + zone_text(offset_minutes, true);
}

std::string space_time(Millis t, const std::string& zone) {
  if (zone == "UTC") return date_time(t, ' ') + " UTC";
  // "+hhmm": the local time of that zone.
  const int sign = zone[0] == '-' ? -1 : 1;
  const int offset = sign * (std::stoi(zone.substr(1, 2)) * 60 + std::stoi(zone.substr(3, 2)));
  return date_time(t + offset * kMinute, ' ') + " " + zone;
}

std::vector<Delivery> render(const History& history, const Secrets& secrets) {
  return Renderer(history, secrets).run();
}

}  // namespace fourkeys::generate
