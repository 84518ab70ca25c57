// The list of sources the receiver serves. Adding a source is a folder under
// parser/ with a make_<name>_source function and one line in registry.cc.
#pragma once

#include "parser/source.h"
#include "parser/source_settings.h"

#include <memory>
#include <vector>

namespace fourkeys::parser {

std::vector<std::unique_ptr<Source>> build_sources(const SourceSettings& settings);

}  // namespace fourkeys::parser
