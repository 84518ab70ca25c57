#include "parser/gitlab/gitlab_fields.h"

#include "common/json.h"
#include "parser/delivery.h"

#include <cctype>

namespace fourkeys::parser::gitlab {
namespace {

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

std::string_view strip_query(std::string_view url) {
  const auto end = url.find_first_of("?#");
  return end == std::string_view::npos ? url : url.substr(0, end);
}

}  // namespace

std::string text_at(const boost::json::value& body, std::initializer_list<std::string_view> path) {
  return json::get_string(body, path).value_or(std::string());
}

bool is_zero_sha(std::string_view sha) {
  return !sha.empty() && sha.find_first_not_of('0') == std::string_view::npos;
}

std::string url_path(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = strip_query(url.substr(scheme + 3));
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return {};
  rest.remove_prefix(slash + 1);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.size() >= 4 && rest.substr(rest.size() - 4) == ".git") rest.remove_suffix(4);
  return std::string(rest);
}

std::string repository_path(const boost::json::value& body) {
  if (auto path = text_at(body, {"project", "path_with_namespace"}); !path.empty()) return path;
  for (auto field : {"web_url", "homepage"}) {
    if (auto path = url_path(text_at(body, {"project", field})); !path.empty()) return path;
  }
  if (auto path = url_path(text_at(body, {"repository", "homepage"})); !path.empty()) return path;
  return text_at(body, {"project", "name"});
}

std::string last_path_segment(std::string_view url) {
  url = strip_query(url);
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  const auto slash = url.rfind('/');
  return std::string(slash == std::string_view::npos ? url : url.substr(slash + 1));
}

bool looks_like_sha(std::string_view text) {
  if (text.size() < 7 || text.size() > 40) return false;
  for (char c : text) {
    if (!is_hex(c)) return false;
  }
  return true;
}

std::optional<std::string> final_deployment_status(std::string_view gitlab_status) {
  if (iequals(gitlab_status, "success")) return "success";
  if (iequals(gitlab_status, "failed")) return "failure";
  // GitLab writes "canceled"; accept the British spelling from scripts too.
  if (iequals(gitlab_status, "canceled") || iequals(gitlab_status, "cancelled")) return "cancelled";
  return std::nullopt;
}

}  // namespace fourkeys::parser::gitlab
