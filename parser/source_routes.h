// Which source a request is for. The receiver and `fourkeys-worker --rebuild`
// (which normalizes stored deliveries again) both ask this one lookup, so
// that a stored delivery goes to the source a live one would.
#pragma once

#include "parser/source.h"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fourkeys::parser {

class SourceRoutes {
 public:
  // Borrows the sources: they must outlive this object. A route two sources
  // name goes to the later one.
  explicit SourceRoutes(const std::vector<std::unique_ptr<Source>>& sources);

  // The source whose route is exactly `path`, or null.
  const Source* by_path(std::string_view path) const;
  // Four Keys' single endpoint (`POST /`): the first source, in the order
  // given, that recognizes the headers; null when none does.
  const Source* by_headers(const Headers& headers) const;
  // Both rules: the exact route, else for "/" the headers.
  const Source* find(std::string_view path, const Headers& headers) const;

 private:
  std::vector<const Source*> sources_;
  std::map<std::string, const Source*, std::less<>> routes_;
};

}  // namespace fourkeys::parser
