// read_push_fields against the parsed tree: for every text below it must
// read what json::find over json::parse's value reads (last duplicate wins,
// other kinds count as absent), and fail where json::parse fails with the
// same offset and message.
#include "parser/github/github_push_fields.h"

#include "common/json.h"
#include "tests/support/fixtures.h"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

using namespace fourkeys;
using namespace fourkeys::parser;

std::string text_at(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  return json::get_string(v, path).value_or("");
}

// A time as the fields keep it: the value when it is a string or a number.
boost::json::value time_at(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  const auto* found = json::find(v, path);
  if (!found || !(found->is_string() || found->is_number())) return nullptr;
  return *found;
}

// String elements of an array, as the file lists are kept.
std::vector<std::string> strings_at(const boost::json::value& v, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* found = json::find(v, {key}); found && found->is_array()) {
    for (const auto& element : found->get_array()) {
      if (element.is_string()) out.emplace_back(element.get_string());
    }
  }
  return out;
}

PushCommitFields commit_from_tree(const boost::json::value& c) {
  PushCommitFields out;
  out.added = strings_at(c, "added");
  out.modified = strings_at(c, "modified");
  out.removed = strings_at(c, "removed");
  out.id = text_at(c, {"id"});
  out.timestamp = time_at(c, {"timestamp"});
  out.author_name = text_at(c, {"author", "name"});
  out.author_username = text_at(c, {"author", "username"});
  out.message = text_at(c, {"message"});
  return out;
}

// The reference: the same fields read from the parsed tree.
PushFields fields_from_tree(const boost::json::value& payload) {
  PushFields out;
  out.ref = text_at(payload, {"ref"});
  out.before = text_at(payload, {"before"});
  out.after = text_at(payload, {"after"});
  out.deleted = json::get_bool(payload, {"deleted"});
  out.repository_full_name = text_at(payload, {"repository", "full_name"});
  out.repository_pushed_at = time_at(payload, {"repository", "pushed_at"});
  if (const auto* commits = json::find(payload, {"commits"}); commits && commits->is_array()) {
    for (const auto& c : commits->get_array()) {
      if (c.is_object()) out.commits.push_back(commit_from_tree(c));
    }
  }
  if (const auto* head = json::find(payload, {"head_commit"}); head && head->is_object()) {
    out.head_commit = commit_from_tree(*head);
  }
  return out;
}

std::string describe(const PushCommitFields& c) {
  std::string files;
  for (const auto* list : {&c.added, &c.modified, &c.removed}) {
    files += "[";
    for (const auto& path : *list) files += path + ";";
    files += "]";
  }
  return "{id=" + c.id + " timestamp=" + boost::json::serialize(c.timestamp) + " author=" + c.author_name +
         "/" + c.author_username + " message=" + c.message + " files=" + files + "}";
}

std::string describe(const PushFields& f) {
  std::string out = "ref=" + f.ref + " before=" + f.before + " after=" + f.after +
                    " deleted=" + (f.deleted ? "true" : "false") + " repository=" + f.repository_full_name +
                    " pushed_at=" + boost::json::serialize(f.repository_pushed_at) + " commits=[";
  for (const auto& c : f.commits) out += describe(c);
  out += "] head_commit=" + (f.head_commit ? describe(*f.head_commit) : std::string("none"));
  return out;
}

void check_same_as_tree(const std::string& text) {
  INFO(text);
  json::ParseError tree_error;
  const auto tree = json::parse(text, tree_error);
  json::ParseError read_error;
  const auto read = read_push_fields(text, read_error);
  REQUIRE(read.has_value() == tree.has_value());
  if (!tree) {
    CHECK(read_error.offset == tree_error.offset);
    CHECK(read_error.message == tree_error.message);
    return;
  }
  CHECK(describe(*read) == describe(fields_from_tree(*tree)));
}

}  // namespace

TEST_CASE("read_push_fields: every push fixture reads as from the parsed tree") {
  const auto fixtures = testing::list_fixtures("github/push");
  REQUIRE_FALSE(fixtures.empty());
  for (const auto& fixture : fixtures) check_same_as_tree(testing::read_fixture(fixture));
}

TEST_CASE("read_push_fields: duplicates, other kinds and look-alike keys read as from the parsed tree") {
  const std::vector<std::string> texts = {
      // the last duplicate wins, also when it is of another kind
      R"({"ref":"refs/heads/a","ref":"refs/heads/b","after":"1","after":5,"deleted":true,"deleted":"yes"})",
      R"({"repository":{"full_name":"o/a","pushed_at":1},"repository":{"name":"x"}})",
      R"({"repository":{"full_name":"o/a"},"repository":"o/b"})",
      R"({"commits":[{"id":"1"}],"commits":[{"id":"2"},{"id":"3"}]})",
      R"({"commits":[{"id":"1"}],"commits":{"id":"2"}})",
      R"({"head_commit":{"id":"1","timestamp":"2024-01-01T00:00:00Z"},"head_commit":null})",
      R"({"head_commit":null,"head_commit":{"id":"2"}})",
      R"({"commits":[{"id":"1","id":"2","author":{"name":"a"},"author":{"username":"b"}}]})",
      R"({"commits":[{"author":{"name":"a","name":7,"username":"u"},"timestamp":"x","timestamp":{}}]})",
      // file lists: strings only, the last duplicate list wins, other kinds count as empty
      R"({"commits":[{"id":"1","added":["a/x","b/y"],"modified":["c"],"removed":[]}]})",
      R"({"commits":[{"id":"1","added":["a"],"added":["b",2,null,["n"],{"x":"y"}],"modified":"m"}]})",
      R"({"head_commit":{"id":"h","removed":["r\u00e9/\"q\""],"modified":{"0":"no"}},"x":{"added":["no"]}})",
      // elements and values of other kinds
      R"({"commits":[1,"x",null,[{"id":"n"}],{"id":"ok","timestamp":1700000000},true]})",
      R"({"commits":[{"id":3,"message":["m"],"timestamp":1.5e9,"author":"a"}]})",
      R"({"repository":{"pushed_at":18446744073709551615,"full_name":null}})",
      R"({"repository":{"pushed_at":-12,"full_name":"o/r"},"deleted":false})",
      R"({"ref":{"ref":"inner"},"after":["after"],"before":null})",
      // the same names elsewhere are not read
      R"({"pusher":{"name":"p","full_name":"x/y"},"sender":{"id":"s"},"x":{"repository":{"full_name":"no"}}})",
      R"({"commits":[{"id":"c","committer":{"name":"not the author"},"x":{"author":{"name":"no"}}}]})",
      R"({"repository":{"owner":{"full_name":"no","pushed_at":1},"full_name":"o/r"}})",
      R"({"head_commit":{"id":"h","tree":{"id":"no","timestamp":"no"},"author":{"name":"n","x":{"username":"no"}}}})",
      // escapes in keys and values
      R"({"re\u0066":"refs/heads/\u00e9t\u00e9","commits":[{"i\u0064":"a\"b","message":"l1\nl2\\"}]})",
      R"({"repository":{"full_name":"o\/r\u0000x","pushed_at":"2024-01-01T00:00:00\u002B02:00"}})",
      // other top-level values
      R"([{"ref":"refs/heads/main"}])", R"("push")", "42", "null", "{}", " \n{\"ref\":\"r\"}\t\r\n",
  };
  for (const auto& text : texts) check_same_as_tree(text);
}

TEST_CASE("read_push_fields: long strings and keys arrive whole") {
  const std::string message(100000, 'm');
  const std::string key(5000, 'k');
  check_same_as_tree(R"({")" + key + R"(":1,"commits":[{"id":"x","message":")" + message + R"(\u00e9"}]})");
  check_same_as_tree(R"({"commits":[{"id":"x","added":[")" + message + R"(","b"]}]})");
}

TEST_CASE("read_push_fields: fails where json::parse fails, with the same offset and message") {
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += "[";
  for (int i = 0; i < 70; ++i) deep += "]";
  std::string deep_ok;
  for (int i = 0; i < 63; ++i) deep_ok += "[";
  for (int i = 0; i < 63; ++i) deep_ok += "]";
  const std::vector<std::string> texts = {
      "", " ", "{", R"({"ref":"a")", R"({"ref":"a"} x)", R"({"ref":"a"}{})", R"({"ref":tru})",
      R"({"commits":[{"id":"a",}]})", R"({"n":1e400})", R"({"n":-1e400,"ref":"x"})", R"({"n":1e400,"x":})",
      "{\"ref\":\"\xff\"}", "{\"ref\":\"a\nb\"}", R"({"ref":"\ud800"})", deep, "{\"a\":" + deep_ok + "}",
      deep_ok, R"(// comment
{"ref":"a"})", R"({"ref":"a",})",
  };
  for (const auto& text : texts) check_same_as_tree(text);
}
