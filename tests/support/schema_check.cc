#include "tests/support/schema_check.h"

#include "common/json.h"
#include "tests/support/fixtures.h"

#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace fourkeys::testing {
namespace {

const valijson::Schema& envelope_schema() {
  static valijson::Schema schema;
  static boost::json::value document;
  static std::once_flag once;
  std::call_once(once, [] {
    std::ifstream in(schema_path());
    if (!in) throw std::runtime_error("cannot read " + schema_path());
    std::ostringstream buf;
    buf << in.rdbuf();
    json::ParseError error;
    auto parsed = json::parse(buf.str(), error);
    if (!parsed) throw std::runtime_error("schema is not JSON: " + error.message);
    document = std::move(*parsed);
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::BoostJsonAdapter adapter(document);
    parser.populateSchema(adapter, schema);
  });
  return schema;
}

}  // namespace

std::string schema_errors(const boost::json::value& envelope) {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::BoostJsonAdapter adapter(envelope);
  if (validator.validate(envelope_schema(), adapter, &results)) return {};
  std::string out;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    std::string path;
    for (const auto& p : error.context) path += p;
    out += path + ": " + error.description + "\n";
  }
  return out.empty() ? "invalid" : out;
}

}  // namespace fourkeys::testing
