#include "parser/service_map/service_map.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace fourkeys::parser {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

// Walks the YAML tree, checking every node before it is used, so that each
// error names the node it is about.
class ServiceMapReader {
 public:
  explicit ServiceMapReader(std::string origin) : origin_(std::move(origin)) {}

  std::shared_ptr<const ServiceMap> read(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      fail(e.mark, "not valid YAML: " + e.msg);
    }
    auto map = std::shared_ptr<ServiceMap>(new ServiceMap());
    if (!root.IsMap()) fail(root.Mark(), "the file must be a mapping with \"services\" (and optionally \"environments\")");
    for (const auto& [key, value] : entries(root, "the top level", {"services", "environments"})) {
      if (key == "services") read_services(value, *map);
      else read_environments(value, *map);
    }
    if (map->services_.empty()) fail(root.Mark(), "\"services\" is missing or empty");
    index(*map);
    return map;
  }

 private:
  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& what) const {
    std::ostringstream out;
    out << "service map " << origin_;
    if (!mark.is_null()) out << " line " << mark.line + 1 << ", column " << mark.column + 1;
    out << ": " << what;
    throw ServiceMapError(out.str());
  }

  // The keys of a mapping, checked against `allowed` and for repeats
  // (yaml-cpp keeps both copies of a repeated key).
  std::vector<std::pair<std::string, YAML::Node>> entries(const YAML::Node& node, const std::string& where,
                                                          const std::vector<std::string>& allowed) const {
    if (!node.IsMap()) fail(node.Mark(), where + " must be a mapping");
    std::vector<std::pair<std::string, YAML::Node>> out;
    std::set<std::string> seen;
    for (const auto& item : node) {
      if (!item.first.IsScalar()) fail(item.first.Mark(), "a key in " + where + " must be a plain name");
      const std::string key = item.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        fail(item.first.Mark(), "unknown key " + quoted(key) + " in " + where + " (allowed: " + joined(allowed) + ")");
      }
      if (!seen.insert(key).second) fail(item.first.Mark(), "key " + quoted(key) + " appears twice in " + where);
      out.emplace_back(key, item.second);
    }
    return out;
  }

  std::string text(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar() || node.Scalar().empty()) fail(node.Mark(), what + " must be a non-empty string");
    return node.Scalar();
  }

  // A string or a list of strings.
  std::vector<std::string> texts(const YAML::Node& node, const std::string& what) const {
    if (node.IsScalar()) return {text(node, what)};
    if (!node.IsSequence()) fail(node.Mark(), what + " must be a string or a list of strings");
    std::vector<std::string> out;
    for (const auto& item : node) out.push_back(text(item, "each entry of " + what));
    return out;
  }

  void read_services(const YAML::Node& node, ServiceMap& map) {
    if (!node.IsSequence()) fail(node.Mark(), "\"services\" must be a list of services (each starting with \"- name:\")");
    std::map<std::string, YAML::Mark> names;
    for (const auto& item : node) {
      MappedService s;
      if (!item.IsMap()) fail(item.Mark(), "each service must be a mapping with at least \"name\"");
      const YAML::Node name = item["name"];
      if (!name) fail(item.Mark(), "a service has no \"name\"");
      s.name = text(name, "\"name\"");
      const std::string where = "service " + quoted(s.name);
      if (auto [at, fresh] = names.emplace(s.name, name.Mark()); !fresh) {
        fail(name.Mark(), "service " + quoted(s.name) + " is declared twice (first at line " +
                              std::to_string(at->second.line + 1) + ")");
      }
      for (const auto& [key, value] :
           entries(item, where, {"name", "team", "github", "gitlab", "paths", "deployments", "pagerduty", "cdevents"})) {
        const std::string field = quoted(key) + " of " + where;
        if (key == "team") s.team = text(value, field);
        else if (key == "github") s.github = texts(value, field);
        else if (key == "gitlab") s.gitlab = texts(value, field);
        else if (key == "paths") s.paths = paths(value, field);
        else if (key == "pagerduty") s.pagerduty = texts(value, field);
        else if (key == "cdevents") s.cdevents = texts(value, field);
        else if (key == "deployments") s.deployments = deployments(value, where);
      }
      for (const auto& repo : s.github) {
        if (repo.find('/') == std::string::npos) fail(item["github"].Mark(), "GitHub repository " + quoted(repo) + " of " + where + " must be \"owner/name\"");
      }
      if (!s.paths.empty() && s.github.empty() && s.gitlab.empty()) {
        fail(item["paths"].Mark(), "\"paths\" of " + where + " need the repositories they are in (\"github\" or \"gitlab\")");
      }
      marks_.push_back(item.Mark());
      map.services_.push_back(std::move(s));
    }
  }

  std::vector<std::string> paths(const YAML::Node& node, const std::string& field) const {
    std::vector<std::string> out = texts(node, field);
    for (auto& p : out) {
      // "services/checkout" and "services/checkout/" mean the folder; a
      // leading "/" or "./" is the repository root.
      if (p.rfind("./", 0) == 0) p.erase(0, 2);
      while (!p.empty() && p.front() == '/') p.erase(0, 1);
      if (p.empty()) fail(node.Mark(), field + " has an empty path (leave \"paths\" out to take the whole repository)");
      if (p.back() != '/') p += '/';
    }
    return out;
  }

  DeploymentMatch deployments(const YAML::Node& node, const std::string& where) const {
    DeploymentMatch m;
    for (const auto& [key, value] : entries(node, "\"deployments\" of " + where, {"environments", "tasks", "workflows"})) {
      const std::string field = quoted(key) + " in \"deployments\" of " + where;
      if (key == "environments") m.environments = texts(value, field);
      else if (key == "tasks") m.tasks = texts(value, field);
      else m.workflows = texts(value, field);
    }
    return m;
  }

  void read_environments(const YAML::Node& node, ServiceMap& map) {
    for (const auto& [key, value] : entries(node, "\"environments\"", {"aliases", "counted"})) {
      if (key == "counted") {
        map.counted_ = texts(value, "\"counted\" in \"environments\"");
        continue;
      }
      // aliases: canonical name -> the names senders use for it.
      for (const auto& [canonical, names] : entries(value, "\"aliases\"", any_key(value))) {
        for (const auto& alias : texts(names, "the aliases of " + quoted(canonical))) {
          auto [at, fresh] = map.aliases_.emplace(alias, canonical);
          if (!fresh && at->second != canonical) {
            fail(names.Mark(), "environment alias " + quoted(alias) + " is given to both " + quoted(at->second) +
                                   " and " + quoted(canonical));
          }
        }
      }
    }
    for (const auto& [alias, canonical] : map.aliases_) {
      if (map.aliases_.count(canonical)) {
        fail(node.Mark(), "environment " + quoted(canonical) + " is both a name aliases lead to and an alias itself");
      }
    }
  }

  std::vector<std::string> any_key(const YAML::Node& node) const {
    std::vector<std::string> keys;
    if (node.IsMap()) {
      for (const auto& item : node) {
        if (item.first.IsScalar()) keys.push_back(item.first.Scalar());
      }
    }
    return keys;
  }

  // Builds the lookups, refusing anything claimed by two services in a way
  // that would make a delivery's service depend on the order of the file.
  void index(ServiceMap& map) const {
    std::map<std::string, std::size_t> pagerduty, cdevents;
    for (std::size_t i = 0; i < map.services_.size(); ++i) {
      const MappedService& s = map.services_[i];
      const YAML::Mark& mark = marks_[i];
      for (const auto& [source, repos] : {std::pair{"github", &s.github}, {"gitlab", &s.gitlab}}) {
        for (const auto& repo : *repos) {
          auto& owners = map.by_repository_[std::string(source) + ":" + lower(repo)];
          if (std::find(owners.begin(), owners.end(), i) != owners.end()) continue;
          for (std::size_t other : owners) {
            const MappedService& o = map.services_[other];
            if (s.paths.empty() || o.paths.empty()) {
              fail(mark, std::string(source == std::string("github") ? "GitHub repository " : "GitLab project ") +
                             quoted(repo) + " is claimed by services " + quoted(o.name) + " and " + quoted(s.name) +
                             "; a repository shared by several services needs \"paths\" on each of them");
            }
          }
          owners.push_back(i);
        }
      }
      for (const auto& key : s.pagerduty) {
        auto [at, fresh] = map.by_pagerduty_.emplace(lower(key), i);
        if (!fresh && at->second != i) {
          fail(mark, "PagerDuty service " + quoted(key) + " is claimed by services " +
                         quoted(map.services_[at->second].name) + " and " + quoted(s.name));
        }
      }
      for (const auto& key : s.cdevents) {
        auto [at, fresh] = map.by_cdevents_.emplace(key, i);
        if (!fresh && at->second != i) {
          fail(mark, "CDEvents source " + quoted(key) + " is claimed by services " +
                         quoted(map.services_[at->second].name) + " and " + quoted(s.name));
        }
      }
    }
    for (const auto& [key, owners] : map.by_repository_) {
      if (owners.size() < 2) continue;
      // Deployments of a shared repository must say which service they are.
      for (std::size_t i : owners) {
        if (map.services_[i].deployments.empty()) {
          fail(marks_[i], "service " + quoted(map.services_[i].name) + " shares repository " +
                              quoted(key.substr(key.find(':') + 1)) +
                              " with other services but has no \"deployments\" saying which deployments are its own");
        }
      }
    }
  }

  std::string origin_;
  std::vector<YAML::Mark> marks_;  // of each service, for errors found after reading
};

bool MappedService::owns_path(std::string_view path) const {
  if (paths.empty()) return true;
  for (const auto& prefix : paths) {
    if (path.size() >= prefix.size() && path.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

std::shared_ptr<const ServiceMap> ServiceMap::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ServiceMapError("service map " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

std::shared_ptr<const ServiceMap> ServiceMap::parse(std::string_view yaml, const std::string& origin) {
  return ServiceMapReader(origin).read(yaml);
}

const MappedService* ServiceMap::find(std::string_view name) const {
  for (const auto& s : services_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<const MappedService*> ServiceMap::services_of_repository(std::string_view source,
                                                                     std::string_view repository) const {
  std::vector<const MappedService*> out;
  auto it = by_repository_.find(std::string(source) + ":" + lower(repository));
  if (it == by_repository_.end()) return out;
  for (std::size_t i : it->second) out.push_back(&services_[i]);
  return out;
}

const MappedService* ServiceMap::service_of_pagerduty(std::string_view id, std::string_view name) const {
  for (std::string_view key : {id, name}) {
    if (key.empty()) continue;
    auto it = by_pagerduty_.find(lower(key));
    if (it != by_pagerduty_.end()) return &services_[it->second];
  }
  return nullptr;
}

const MappedService* ServiceMap::service_of_cdevents(std::string_view source) const {
  auto it = by_cdevents_.find(std::string(source));
  return it == by_cdevents_.end() ? nullptr : &services_[it->second];
}

std::string ServiceMap::environment(std::string_view name) const {
  auto it = aliases_.find(std::string(name));
  return it == aliases_.end() ? std::string(name) : it->second;
}

bool ServiceMap::counted(std::string_view environment) const {
  return std::find(counted_.begin(), counted_.end(), environment) != counted_.end();
}

}  // namespace fourkeys::parser
