// Reading GitLab webhook bodies: the field shapes that several GitLab events
// share (project paths, sha forms, job and deployment statuses). Internal to
// the gitlab source; pure functions that never throw on sender input.
#pragma once

#include <boost/json/value.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace fourkeys::parser::gitlab {

// The string at `path`, or empty when it is missing, null or not a string.
std::string text_at(const boost::json::value& body, std::initializer_list<std::string_view> path);

// True for a non-empty sha made only of '0' (GitLab's "no commit": a created
// or deleted ref).
bool is_zero_sha(std::string_view sha);

// The project's "namespace/name" path: project.path_with_namespace, else the
// path of project.web_url / project.homepage / repository.homepage (job
// events carry no `project` object), else project.name. Empty when the body
// names no project at all.
std::string repository_path(const boost::json::value& body);

// The path of an http(s) URL without the leading '/', a trailing '/' or
// ".git". Empty when `url` has no scheme or no path.
std::string url_path(std::string_view url);

// The last '/'-separated segment of `url` (query and fragment removed).
std::string last_path_segment(std::string_view url);

// True when `text` is 7 to 40 hexadecimal digits (short or full git sha).
bool looks_like_sha(std::string_view text);

// The envelope status for a final GitLab job or deployment status
// (success, failed, canceled); nullopt for every other word, including the
// states a deployment passes through (created, pending, running, ...).
std::optional<std::string> final_deployment_status(std::string_view gitlab_status);

}  // namespace fourkeys::parser::gitlab
