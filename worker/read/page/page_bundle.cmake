# Writes a .cc holding the dashboard page's files (index.html, *.js, *.css,
# *.svg beside this script) for worker/read/page_assets.h.
# Usage: cmake -DPAGE_DIR=... -DOUTPUT=... -P page_bundle.cmake
#
# Each file becomes an array of hex bytes rather than a string literal: the
# files may hold any byte (quotes, backslashes, ")" followed by anything,
# UTF-8), and compilers cap the length of a single literal (MSVC at 16 KiB).
# Every array ends with one extra 0 byte so that an empty file is still a
# valid array; the views leave it out.
cmake_minimum_required(VERSION 3.21)  # script mode: IN_LIST, file(COPY_FILE)
get_filename_component(PAGE_DIR "${PAGE_DIR}" ABSOLUTE)
file(GLOB files RELATIVE "${PAGE_DIR}"
  "${PAGE_DIR}/*.html" "${PAGE_DIR}/*.js" "${PAGE_DIR}/*.css" "${PAGE_DIR}/*.svg")
list(SORT files)
if(NOT "index.html" IN_LIST files)
  message(FATAL_ERROR "page_bundle.cmake: ${PAGE_DIR}/index.html is missing")
endif()

set(arrays "")
set(entries "")
set(index 0)
foreach(name IN LISTS files)
  if(NOT name MATCHES "^[A-Za-z0-9._-]+$")
    message(FATAL_ERROR "page_bundle.cmake: ${name}: page file names are letters, digits, '.', '_' and '-'")
  endif()
  get_filename_component(ext "${name}" LAST_EXT)
  if(ext STREQUAL ".html")
    set(type "text/html; charset=utf-8")
  elseif(ext STREQUAL ".js")
    set(type "text/javascript; charset=utf-8")
  elseif(ext STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  elseif(ext STREQUAL ".svg")
    set(type "image/svg+xml")
  endif()
  if(name STREQUAL "index.html")
    set(path "/")
  else()
    set(path "/page/${name}")
  endif()

  file(READ "${PAGE_DIR}/${name}" hex HEX)
  file(SIZE "${PAGE_DIR}/${name}" size)
  # 16 bytes (32 hex digits) per line, then each byte as 0xNN.
  string(REGEX REPLACE "([0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])"
         "\\1\n    " hex "${hex}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND arrays "// ${name}\nconst unsigned char file${index}[] = {\n    ${bytes}0x00};\n\n")
  string(APPEND entries "      {\"${path}\", {\"${type}\", view(file${index}, ${size})}},\n")
  math(EXPR index "${index} + 1")
endforeach()

file(WRITE "${OUTPUT}.tmp" "// Generated from worker/read/page by page_bundle.cmake; do not edit.
#include \"worker/read/page_assets.h\"

#include <cstddef>

namespace fourkeys::worker {
namespace {

${arrays}std::string_view view(const unsigned char* bytes, std::size_t size) {
  return {reinterpret_cast<const char*>(bytes), size};
}

struct Entry {
  std::string_view path;
  PageAsset asset;
};

const Entry* entries(std::size_t& count) {
  static const Entry table[] = {
${entries}  };
  count = sizeof table / sizeof table[0];
  return table;
}

}  // namespace

const PageAsset* find_page_asset(std::string_view path) {
  // The query and fragment never choose a file: \"/?service=x\" is the page.
  path = path.substr(0, path.find_first_of(\"?#\"));
  std::size_t count = 0;
  const Entry* table = entries(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (table[i].path == path) return &table[i].asset;
  }
  return nullptr;
}

}  // namespace fourkeys::worker
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
