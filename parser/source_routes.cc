#include "parser/source_routes.h"

namespace fourkeys::parser {

SourceRoutes::SourceRoutes(const std::vector<std::unique_ptr<Source>>& sources) {
  for (const auto& s : sources) {
    sources_.push_back(s.get());
    for (auto& route : s->routes()) routes_[std::move(route)] = s.get();
  }
}

const Source* SourceRoutes::by_path(std::string_view path) const {
  const auto it = routes_.find(path);
  return it == routes_.end() ? nullptr : it->second;
}

const Source* SourceRoutes::by_headers(const Headers& headers) const {
  for (const Source* s : sources_) {
    if (s->recognizes(headers)) return s;
  }
  return nullptr;
}

const Source* SourceRoutes::find(std::string_view path, const Headers& headers) const {
  if (const Source* s = by_path(path)) return s;
  return path == "/" ? by_headers(headers) : nullptr;
}

}  // namespace fourkeys::parser
