#include "parser/envelope.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace fourkeys::parser {
namespace {

boost::json::value str_or_null(const std::string& s) {
  if (s.empty()) return nullptr;
  return boost::json::value(s);
}

boost::json::array strings(const std::vector<std::string>& items) {
  boost::json::array out;
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

boost::json::object change_json(const Change& c) {
  boost::json::object o;
  o["ref"] = str_or_null(c.ref);
  o["before"] = str_or_null(c.before);
  o["after"] = str_or_null(c.after);
  boost::json::array commits;
  for (const auto& commit : c.commits) {
    boost::json::object co;
    co["sha"] = commit.sha;
    co["time"] = str_or_null(commit.time);
    co["author"] = str_or_null(commit.author);
    co["title"] = str_or_null(commit.title);
    commits.emplace_back(std::move(co));
  }
  o["commits"] = std::move(commits);
  if (c.number) o["number"] = *c.number;
  else o["number"] = nullptr;
  o["merge_sha"] = str_or_null(c.merge_sha);
  o["created_at"] = str_or_null(c.created_at);
  o["merged_at"] = str_or_null(c.merged_at);
  o["base_ref"] = str_or_null(c.base_ref);
  return o;
}

boost::json::object deployment_json(const Deployment& d) {
  boost::json::object o;
  o["id"] = str_or_null(d.id);
  o["environment"] = d.environment;
  o["sha"] = str_or_null(d.sha);
  o["status"] = d.status;
  o["started_at"] = str_or_null(d.started_at);
  o["finished_at"] = str_or_null(d.finished_at);
  o["is_rollback"] = d.is_rollback;
  o["is_hotfix"] = d.is_hotfix;
  o["additional_shas"] = strings(d.additional_shas);
  o["commit_time"] = str_or_null(d.commit_time);
  return o;
}

boost::json::object incident_json(const Incident& i) {
  boost::json::object o;
  o["id"] = i.id;
  o["status"] = i.status;
  o["created_at"] = str_or_null(i.created_at);
  o["resolved_at"] = str_or_null(i.resolved_at);
  o["root_cause_sha"] = str_or_null(i.root_cause_sha);
  o["severity"] = str_or_null(i.severity);
  o["title"] = str_or_null(i.title);
  o["environment"] = str_or_null(i.environment);
  return o;
}

}  // namespace

const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::change: return "change";
    case Kind::deployment: return "deployment";
    case Kind::incident: return "incident";
    case Kind::other: return "other";
  }
  return "other";
}

namespace {
boost::json::object fields_without_raw(const Envelope& e) {
  boost::json::object o;
  o["schema"] = "fourkeys.event.v1";
  o["id"] = e.id;
  o["source"] = e.source;
  o["source_event"] = e.source_event;
  o["kind"] = to_string(e.kind);
  o["service"] = e.service;
  o["team"] = str_or_null(e.team);
  o["repository"] = str_or_null(e.repository);
  o["received_at"] = e.received_at;
  o["occurred_at"] = e.occurred_at;
  o["signature"] = e.signature;
  if (e.change) o["change"] = change_json(*e.change);
  if (e.deployment) o["deployment"] = deployment_json(*e.deployment);
  if (e.incident) o["incident"] = incident_json(*e.incident);
  o["defaults"] = strings(e.defaults);
  return o;
}
}  // namespace

boost::json::value to_json(const Envelope& e) {
  boost::json::object o = fields_without_raw(e);
  o["raw"] = e.raw;
  return o;
}

std::string serialize_envelope(const Envelope& e, std::string_view raw_json) {
  while (!raw_json.empty() && (raw_json.back() == '\n' || raw_json.back() == '\r' ||
                               raw_json.back() == ' ' || raw_json.back() == '\t')) {
    raw_json.remove_suffix(1);
  }
  std::string out = boost::json::serialize(fields_without_raw(e));
  out.pop_back();  // the object's closing brace
  out.reserve(out.size() + raw_json.size() + 8);
  out += ",\"raw\":";
  out += raw_json;
  out += '}';
  return out;
}

std::string cloudevents_type(const Envelope& envelope) {
  return std::string("dev.fourkeys.") + to_string(envelope.kind) + ".v1";
}

}  // namespace fourkeys::parser
