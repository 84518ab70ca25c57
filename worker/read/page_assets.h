// The built-in dashboard page's files (worker/read/page/), compiled into the
// worker by worker/read/page/page_bundle.cmake so that it needs no files, no
// CDN and no network at run time.
#pragma once

#include <string_view>

namespace fourkeys::worker {

struct PageAsset {
  std::string_view content_type;
  std::string_view body;
};

// The page's files: "/" (index.html), "/page/app.js", "/page/style.css", ...;
// nullptr for other paths. A query string or fragment on `path` is ignored.
// The returned asset lives as long as the program.
const PageAsset* find_page_asset(std::string_view path);

}  // namespace fourkeys::worker
