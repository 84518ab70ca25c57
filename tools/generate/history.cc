#include "tools/generate/history.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

namespace fourkeys::generate {

const char* to_string(Family family) {
  switch (family) {
    case Family::github: return "github";
    case Family::gitlab: return "gitlab";
    case Family::api: return "api";
    case Family::cdevents: return "cdevents";
  }
  return "?";
}

std::int64_t Random::between(std::int64_t lo, std::int64_t hi) {
  if (hi <= lo) return lo;
  const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
  return lo + static_cast<std::int64_t>(next() % span);
}

double Random::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::string Random::hex(std::size_t digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(digits);
  while (out.size() < digits) {
    std::uint64_t bits = next();
    for (int i = 0; i < 16 && out.size() < digits; ++i, bits >>= 4) out += kDigits[bits & 15];
  }
  return out;
}

std::string Random::uuid() {
  std::string h = hex(32);
  h[12] = '4';  // version 4 (random), variant 10xx, as generated UUIDs are
  h[16] = "89ab"[next() % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::string Random::alnum(std::size_t length) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out;
  for (std::size_t i = 0; i < length; ++i) out += kChars[next() % 36];
  return out;
}

namespace {

struct Author {
  const char* name;
  const char* email;
  int utc_offset_minutes;
};

const std::vector<Author> kAuthors = {
    {"Ana Souza", "ana.souza@acme.example", -180},     {"Wei Chen", "wei.chen@acme.example", 480},
    {"Priya Natarajan", "priya@acme.example", 330},    {"Jonas Berg", "jonas.berg@acme.example", 60},
    {"Maya Goldberg", "maya@acme.example", 120},       {"Sam Okafor", "sam.okafor@acme.example", 0},
    {"Lucía Fernández", "lucia@acme.example", 60},     {"Tom Becker", "tom.becker@acme.example", -420},
    {"Kenji Watanabe", "kenji@acme.example", 540},     {"Chloé Martin", "chloe.martin@acme.example", 60},
};

const std::vector<std::string> kMessages = {
    "Fix rounding of totals in the cart",        "Add retry with backoff to the payment client",
    "Bump dependencies",                         "Refactor order validation",
    "Log the request id on every error",         "Add metrics for queue depth",
    "Tune the connection pool size",             "Handle empty responses from the tax service",
    "Cache currency rates for five minutes",     "Remove the legacy export endpoint",
    "Validate webhook payloads earlier",         "Speed up the nightly reconciliation",
    "Fix flaky integration test",                "Add pagination to the admin list",
    "Guard against duplicate submissions",       "Update README",
    "Make timeouts configurable",                "Drop unused feature flag",
    "Fix time zone handling in reports",         "Increase test coverage for refunds",
};

const std::vector<std::string> kBranchTopics = {
    "cart-rounding", "payment-retries", "deps", "order-validation", "request-ids", "queue-metrics",
    "pool-size",     "tax-timeouts",    "rates-cache", "export-cleanup", "early-validation", "reconcile-speed",
};

const std::vector<std::string> kIncidentTitles = {
    "Elevated 5xx rate",           "Latency above SLO",          "Payment provider timeouts",
    "Login failures",              "Queue backlog growing",      "Memory pressure on worker pods",
    "Stale data served from cache", "Failed jobs piling up",     "Error budget burn alert",
    "Checkout conversions dropped",
};

const std::vector<std::vector<std::string>> kNames = {
    {"acme/checkout", "acme/storefront", "acme/mobile-bff", "acme/notifications"},
    {"acme/platform/billing", "acme/platform/identity", "acme/platform/ledger"},
    {"inventory", "pricing", "shipping"},
    {"search", "recommendations", "media-transcoder"},
};

Millis whole_seconds_between(Random& r, Millis lo, Millis hi) {
  return r.between(lo / kSecond, hi / kSecond) * kSecond;
}

// ---- the commit chain -------------------------------------------------------

Commit make_commit(Random& r, Millis time, std::string message) {
  const Author& a = r.pick(kAuthors);
  Commit c;
  c.sha = r.hex(40);
  c.time = time;
  c.author = a.name;
  c.email = a.email;
  c.utc_offset_minutes = a.utc_offset_minutes;
  c.message = std::move(message);
  return c;
}

// Quiet hours: most pushes land between 07:00 and 22:00 UTC.
Millis skip_night(Random& r, Millis t) {
  const Millis hour = (t % kDay) / kHour;
  if ((hour >= 22 || hour < 7) && r.chance(0.7)) {
    const Millis next_morning = (t / kDay + (hour >= 22 ? 1 : 0)) * kDay + 7 * kHour;
    return next_morning + whole_seconds_between(r, 0, 3 * kHour);
  }
  return t;
}

void build_chain(Random& r, Service& s, const History& h, int& merge_numbers) {
  const bool pushes = s.family == Family::github || s.family == Family::gitlab;
  Millis t = h.from + whole_seconds_between(r, 10 * kMinute, 2 * kHour);
  const Millis last_push = h.to - 30 * kMinute;
  while (true) {
    t = skip_night(r, t);
    if (t >= last_push) break;
    Push p;
    p.time = t;
    p.first = static_cast<int>(s.chain.size());
    const bool merge = pushes && r.chance(0.5);
    if (merge) {
      Merge m;
      m.number = ++merge_numbers;
      m.branch = r.pick(kBranchTopics) + "-" + std::to_string(m.number);
      const int feature_commits = static_cast<int>(r.between(1, 3));
      // A feature branch's commits are older than its merge, sometimes older
      // than the default branch's head: lead time starts at the commit.
      const Millis span = whole_seconds_between(r, 30 * kMinute, 30 * kHour);
      m.opened_at = t - span - whole_seconds_between(r, 5 * kMinute, 2 * kHour);
      for (int i = 0; i < feature_commits; ++i) {
        const Millis ct = t - span + span * i / feature_commits / kSecond * kSecond;
        s.chain.push_back(make_commit(r, ct, r.pick(kMessages)));
      }
      m.title = s.chain.back().message;
      const std::string merge_message =
          s.family == Family::github
              ? "Merge pull request #" + std::to_string(m.number) + " from acme/" + m.branch + "\n\n" + m.title
              : "Merge branch '" + m.branch + "' into 'main'\n\n" + m.title + "\n\nSee merge request " + s.name +
                    "!" + std::to_string(m.number);
      s.chain.push_back(make_commit(r, t, merge_message));
      p.merge = m;
    } else {
      const int n = static_cast<int>(r.between(1, 3));
      const Millis gap = whole_seconds_between(r, 2 * kMinute, 20 * kMinute);
      const Millis first = t - (n - 1) * gap - whole_seconds_between(r, 0, 5 * kMinute);
      for (int i = 0; i < n; ++i) s.chain.push_back(make_commit(r, first + i * gap, r.pick(kMessages)));
    }
    p.last = static_cast<int>(s.chain.size()) - 1;
    if (pushes) s.pushes.push_back(std::move(p));
    t += whole_seconds_between(r, 1 * kHour, 10 * kHour);
  }
}

// The newest commit pushed at least a minute before `t`, or -1.
int head_at(const Service& s, Millis t) {
  if (s.family == Family::github || s.family == Family::gitlab) {
    int head = -1;
    for (const Push& p : s.pushes) {
      if (p.time > t - kMinute) break;
      head = p.last;
    }
    return head;
  }
  // Services without pushes deploy a commit a CI job reports itself.
  int head = -1;
  for (std::size_t i = 0; i < s.chain.size(); ++i) {
    if (s.chain[i].time > t - kMinute) break;
    head = static_cast<int>(i);
  }
  return head;
}

// ---- deployments --------------------------------------------------------------

struct EnvironmentPlan {
  Millis mean_gap = 0;
  double failure = 0, rollback = 0, hotfix = 0, redeploy = 0;
};

EnvironmentPlan plan_for(const Service& s, const std::string& environment, bool four_keys) {
  EnvironmentPlan p;
  const bool production = environment == "production";
  switch (s.family) {
    case Family::github:
    case Family::gitlab:
      p.mean_gap = production ? 20 * kHour : 6 * kHour;
      break;
    case Family::api:
      p.mean_gap = production ? 18 * kHour : 8 * kHour;
      break;
    case Family::cdevents:
      // Rare deployments leave incidents outside the attribution window.
      p.mean_gap = production ? 40 * kHour : 14 * kHour;
      break;
  }
  p.failure = s.family == Family::cdevents ? 0.0 : 0.12;
  p.rollback = 0.12;
  // Only GitHub deployments (payload) and API calls (is_hotfix) can say a
  // deployment is a hotfix; GitLab hooks, CDEvents and Four Keys' bodies cannot.
  p.hotfix = ((s.family == Family::github || s.family == Family::api) && !four_keys) ? 0.08 : 0.0;
  p.redeploy = 0.15;
  return p;
}

void plan_environment(Random& r, Service& s, const History& h, const std::string& environment,
                      std::int64_t& attempt_numbers) {
  const EnvironmentPlan plan = plan_for(s, environment, h.options.four_keys);
  const bool has_commits = s.family != Family::cdevents;
  const Millis last_start = h.to - 3 * kHour;
  Millis t = h.from + whole_seconds_between(r, 30 * kMinute, plan.mean_gap);
  int deployed_upto = -1;            // the newest chain index the environment has
  std::vector<int> success_heads;    // heads of the successful attempts, in order
  int successes = 0;

  auto add = [&](AttemptKind kind, Millis start, int head, const std::string& status) -> Attempt& {
    Attempt a;
    a.environment = environment;
    a.kind = kind;
    a.started_at = start;
    a.finished_at = start + whole_seconds_between(r, 2 * kMinute, 15 * kMinute);
    a.status = status;
    a.head = head;
    a.number = ++attempt_numbers;
    s.attempts.push_back(std::move(a));
    return s.attempts.back();
  };
  auto next_gap = [&] {
    return whole_seconds_between(r, plan.mean_gap * 3 / 10, plan.mean_gap * 17 / 10);
  };

  while (t < last_start) {
    int head = -1;
    AttemptKind kind = AttemptKind::forward;
    if (has_commits) {
      head = head_at(s, t);
      if (head < 0) {
        t += next_gap();
        continue;
      }
      if (head <= deployed_upto) {
        // Nothing new. Deploying the running commit again is a redeploy;
        // deploying anything else already there would be a rollback, which
        // only happens on purpose below.
        if (!success_heads.empty() && head == success_heads.back() && r.chance(plan.redeploy)) {
          kind = AttemptKind::redeploy;
        } else {
          t += next_gap();
          continue;
        }
      }
    }
    if (r.chance(plan.failure)) {
      const Attempt& failed = add(kind, t, head, "failure");
      t = failed.finished_at + whole_seconds_between(r, 10 * kMinute, 90 * kMinute);
      continue;  // the retry takes the commits
    }
    Attempt& ok = add(kind, t, head, "success");
    ok.hotfix = kind == AttemptKind::forward && r.chance(plan.hotfix);
    Millis finished = ok.finished_at;
    if (has_commits) {
      deployed_upto = std::max(deployed_upto, head);
      success_heads.push_back(head);
    }
    ++successes;

    // A rollback to the commit running before this one.
    int target = -1;
    if (has_commits) {
      for (auto it = success_heads.rbegin(); it != success_heads.rend(); ++it) {
        if (*it != head) {
          target = *it;
          break;
        }
      }
    }
    const bool can_roll_back = has_commits ? target >= 0 : successes > 1;
    const Millis rollback_start = finished + whole_seconds_between(r, 15 * kMinute, 2 * kHour);
    if (can_roll_back && rollback_start < last_start && r.chance(plan.rollback)) {
      Attempt& back = add(AttemptKind::rollback, rollback_start, target, "success");
      // GitLab's hooks cannot say so: the pipeline sees a redeployed older commit.
      back.flagged_rollback = s.family != Family::gitlab && !h.options.four_keys;
      finished = back.finished_at;
      if (has_commits) success_heads.push_back(target);
    }
    t = finished + next_gap();
  }
}

// ---- what the attempts mean ----------------------------------------------------

// The linking rules applied to a history built so that each has one answer:
// the chain is linear, so an environment holds every commit up to the newest
// one it received; API services send no pushes, so a deployment brings only
// its own commit.
void derive_attempts(Service& s) {
  std::stable_sort(s.attempts.begin(), s.attempts.end(), [](const Attempt& a, const Attempt& b) {
    return std::tie(a.finished_at, a.environment) < std::tie(b.finished_at, b.environment);
  });
  struct EnvState {
    int deployed_upto = -1;
    std::set<int> heads;  // API services: the commits the environment has
    std::optional<int> previous_head;
  };
  std::map<std::string, EnvState> envs;
  for (Attempt& a : s.attempts) {
    if (a.status != "success") continue;
    EnvState& e = envs[a.environment];
    if (a.head < 0) {
      a.rollback = a.flagged_rollback;
      continue;
    }
    const bool had = s.family == Family::api ? e.heads.count(a.head) > 0 : a.head <= e.deployed_upto;
    const bool detected = had && e.previous_head && *e.previous_head != a.head;
    a.rollback = a.flagged_rollback || detected;
    if (!had) {
      if (s.family == Family::api) {
        a.changes.push_back(a.head);
      } else {
        for (int i = e.deployed_upto + 1; i <= a.head; ++i) a.changes.push_back(i);
      }
    }
    e.deployed_upto = std::max(e.deployed_upto, a.head);
    e.heads.insert(a.head);
    e.previous_head = a.head;
  }
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// The earliest successful attempt of the environment that brought (or
// deployed) a commit named by `text`, as the linker looks it up.
int by_root_cause(const Service& s, const std::string& environment, const std::string& text) {
  for (std::size_t i = 0; i < s.attempts.size(); ++i) {
    const Attempt& a = s.attempts[i];
    if (a.status != "success" || a.environment != environment) continue;
    if (a.head >= 0 && starts_with(s.chain[static_cast<std::size_t>(a.head)].sha, text)) return static_cast<int>(i);
    for (int c : a.changes) {
      if (starts_with(s.chain[static_cast<std::size_t>(c)].sha, text)) return static_cast<int>(i);
    }
  }
  return -1;
}

// The last successful attempt of the environment finished at or before `t`.
int last_success_before(const Service& s, const std::string& environment, Millis t) {
  int found = -1;
  for (std::size_t i = 0; i < s.attempts.size(); ++i) {
    const Attempt& a = s.attempts[i];
    if (a.finished_at > t) break;
    if (a.status == "success" && a.environment == environment) found = static_cast<int>(i);
  }
  return found;
}

void attribute(Service& s, Incident& incident) {
  if (!incident.root_cause_text.empty()) {
    const int cause = by_root_cause(s, incident.environment, incident.root_cause_text);
    if (cause >= 0) {
      incident.attempt = cause;
      incident.attribution = "root_cause";
      s.attempts[static_cast<std::size_t>(cause)].caused_incident = true;
      return;
    }
  }
  const int last = last_success_before(s, incident.environment, incident.opened_at);
  if (last >= 0 && incident.opened_at - s.attempts[static_cast<std::size_t>(last)].finished_at <= kAttributionWindow) {
    incident.attempt = last;
    incident.attribution = "window";
    s.attempts[static_cast<std::size_t>(last)].caused_incident = true;
  }
}

// ---- incidents -------------------------------------------------------------------

// The shortest prefix (at least `length` digits) that names one commit of the chain.
std::string unique_prefix(const Service& s, const std::string& sha, std::size_t length) {
  for (; length < sha.size(); ++length) {
    const std::string prefix = sha.substr(0, length);
    int matches = 0;
    for (const Commit& c : s.chain) matches += starts_with(c.sha, prefix) ? 1 : 0;
    if (matches == 1) return prefix;
  }
  return sha;
}

// Moves `t` off the instants where the window rule's answer would hang on a
// second: a deployment finishing at the same time, or the window's edge.
Millis clear_of_edges(const Service& s, const std::string& environment, Millis t) {
  for (int round = 0; round < 20; ++round) {
    bool moved = false;
    for (const Attempt& a : s.attempts) {
      if (a.status != "success" || a.environment != environment) continue;
      const Millis d = t - a.finished_at;
      if ((d >= -kMinute && d <= kMinute) ||
          (d >= kAttributionWindow - 5 * kMinute && d <= kAttributionWindow + 5 * kMinute)) {
        t += 11 * kMinute;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return t;
}

std::vector<IncidentSource> incident_sources(Family family, bool four_keys) {
  switch (family) {
    case Family::github:
      return four_keys ? std::vector{IncidentSource::github_issue}
                       : std::vector{IncidentSource::github_issue, IncidentSource::pagerduty};
    case Family::gitlab: return {IncidentSource::gitlab_issue};
    case Family::api: return {IncidentSource::api};
    case Family::cdevents: return {IncidentSource::cdevents};
  }
  return {};
}

void plan_incidents(Random& r, Service& s, const History& h, int& incident_numbers) {
  const bool four_keys = h.options.four_keys;
  // Issues and PagerDuty services name no environment: production.
  std::vector<std::string> environments = {"production"};
  if ((s.family == Family::api || s.family == Family::cdevents) && !four_keys) environments.push_back("staging");
  const auto sources = incident_sources(s.family, four_keys);
  for (const std::string& environment : environments) {
    const double per_day = environment == "production" ? 0.45 : 0.25;
    const double wanted = static_cast<double>(h.options.days) * per_day * (0.7 + 0.6 * r.unit());
    const int count = std::max(environment == "production" ? 1 : 0, static_cast<int>(wanted + 0.5));
    for (int n = 0; n < count; ++n) {
      Incident incident;
      incident.source = r.pick(sources);
      incident.environment = environment;
      incident.title = r.pick(kIncidentTitles);
      incident.severity = r.pick(std::vector<std::string>{"high", "high", "low"});
      const Millis latest_open = h.to - 40 * kMinute;

      // A root cause names a commit a deployment of this environment brought.
      std::vector<int> candidates;
      for (std::size_t i = 0; i < s.attempts.size(); ++i) {
        const Attempt& a = s.attempts[i];
        if (a.status == "success" && a.environment == environment && !a.changes.empty() &&
            a.finished_at + 20 * kMinute < latest_open) {
          candidates.push_back(static_cast<int>(i));
        }
      }
      const bool with_cause = s.family != Family::cdevents && !candidates.empty() && (four_keys || r.chance(0.45));
      if (with_cause) {
        const Attempt& cause = s.attempts[static_cast<std::size_t>(r.pick(candidates))];
        incident.root_cause = r.pick(cause.changes);
        const std::string& sha = s.chain[static_cast<std::size_t>(incident.root_cause)].sha;
        incident.root_cause_text = r.chance(0.3) ? sha : unique_prefix(s, sha, static_cast<std::size_t>(r.between(7, 12)));
        incident.opened_at = std::min(latest_open, cause.finished_at + whole_seconds_between(r, 20 * kMinute, 30 * kHour));
      } else {
        incident.opened_at = whole_seconds_between(r, h.from + 2 * kHour, latest_open);
      }
      incident.opened_at = clear_of_edges(s, environment, incident.opened_at);
      if (incident.opened_at >= latest_open) continue;

      // Four Keys' issue bodies always carry closed_at.
      const bool resolve = four_keys || r.chance(0.88);
      Millis duration;
      const double shape = r.unit();
      if (shape < 0.7) duration = whole_seconds_between(r, 5 * kMinute, 3 * kHour);
      else if (shape < 0.95) duration = whole_seconds_between(r, 3 * kHour, 20 * kHour);
      else duration = whole_seconds_between(r, 20 * kHour, 60 * kHour);
      if (resolve && incident.opened_at + duration < h.to - kMinute) incident.resolved_at = incident.opened_at + duration;
      else if (four_keys) incident.resolved_at = h.to - kMinute;

      if (incident.source == IncidentSource::pagerduty) {
        if (incident.resolved_at && duration >= 45 * kMinute && r.chance(0.15)) {
          incident.first_resolved_at = incident.opened_at + duration / 3 / kSecond * kSecond;
          incident.reopened_at = *incident.first_resolved_at + whole_seconds_between(r, kMinute, duration / 3);
        }
        const Millis until = incident.first_resolved_at ? *incident.first_resolved_at
                             : incident.resolved_at    ? *incident.resolved_at
                                                       : h.to - kMinute;
        const Millis ack =
            incident.opened_at + whole_seconds_between(r, kMinute, std::min(20 * kMinute, (until - incident.opened_at) / 2));
        if (ack < until) incident.acknowledged_at = ack;
      }
      s.incidents.push_back(std::move(incident));
    }
  }
  std::stable_sort(s.incidents.begin(), s.incidents.end(),
                   [](const Incident& a, const Incident& b) { return a.opened_at < b.opened_at; });
  for (Incident& incident : s.incidents) {
    const int number = ++incident_numbers;
    switch (incident.source) {
      case IncidentSource::github_issue:
      case IncidentSource::gitlab_issue:
        // GitHub numbers issues and pull requests in one sequence.
        incident.number = number;
        incident.id = s.name + "#" + std::to_string(incident.number);
        break;
      case IncidentSource::pagerduty: incident.id = "Q" + r.alnum(13); break;
      case IncidentSource::api: incident.id = "INC-" + std::to_string(2000 + number); break;
      case IncidentSource::cdevents: incident.id = "incident-" + r.hex(12); break;
    }
    attribute(s, incident);
  }
}

}  // namespace

History simulate(const Options& options) {
  if (options.days < 1) throw std::invalid_argument("days must be at least 1");
  if (options.services < 1) throw std::invalid_argument("services must be at least 1");
  if (options.now % kSecond != 0) throw std::invalid_argument("now must be a whole second");
  History h;
  h.options = options;
  h.to = options.now;
  h.from = options.now - options.days * kDay;
  Random r(options.seed);

  const std::vector<Family> families = options.four_keys
                                           ? std::vector{Family::github, Family::gitlab}
                                           : std::vector{Family::github, Family::gitlab, Family::api, Family::cdevents};
  std::map<Family, int> used;
  std::int64_t attempt_numbers = 100000 + r.between(0, 899999);
  int merge_numbers = 0;
  int incident_numbers = 0;
  for (int i = 0; i < options.services; ++i) {
    Service s;
    s.family = families[static_cast<std::size_t>(i) % families.size()];
    const auto& names = kNames[static_cast<std::size_t>(s.family)];
    const int n = used[s.family]++;
    s.name = names[static_cast<std::size_t>(n) % names.size()];
    if (n >= static_cast<int>(names.size())) s.name += "-" + std::to_string(n / static_cast<int>(names.size()) + 1);
    s.environments = options.four_keys ? std::vector<std::string>{"production"}
                                       : std::vector<std::string>{"production", "staging"};
    s.project_id = r.between(10'000'000, 99'999'999);
    s.pagerduty_service_id = "P" + r.alnum(6);
    s.pagerduty_policy_id = "P" + r.alnum(6);
    merge_numbers = 0;
    build_chain(r, s, h, merge_numbers);
    for (const std::string& environment : s.environments) plan_environment(r, s, h, environment, attempt_numbers);
    derive_attempts(s);
    incident_numbers = merge_numbers;
    plan_incidents(r, s, h, incident_numbers);
    h.services.push_back(std::move(s));
  }
  return h;
}

}  // namespace fourkeys::generate
