#include <catch2/catch.hpp>

#include "common/json.h"

#include <boost/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace json = fourkeys::json;

namespace {

constexpr std::string_view kEndsEarly = "the body ends before the JSON value is complete";
constexpr std::string_view kTrailing = "unexpected data after the JSON value";

// Parses text the test knows to be valid.
boost::json::value must_parse(std::string_view text) {
  json::ParseError error;
  auto v = json::parse(text, error);
  INFO("text: " << text << " error at " << error.offset << ": " << error.message);
  REQUIRE(v.has_value());
  return *v;
}

// The error for text the test knows to be invalid.
json::ParseError must_fail(std::string_view text) {
  json::ParseError error;
  error.offset = 12345;  // must be overwritten
  const auto v = json::parse(text, error);
  INFO("text: " << text);
  REQUIRE_FALSE(v.has_value());
  return error;
}

}  // namespace

TEST_CASE("parse reads a complete JSON text", "[json]") {
  const auto v = must_parse(R"({"a":{"b":[1,"two",true,null]},"n":-3})");
  REQUIRE(v.is_object());
  CHECK(v.at("n").as_int64() == -3);
  CHECK(v.at("a").at("b").as_array().size() == 4);
  CHECK(v.at("a").at("b").at(1).as_string() == "two");

  // Whitespace around the value is fine.
  CHECK(must_parse(" \n\t{\"a\":1} \r\n\t ").at("a").as_int64() == 1);
  // Scalars at the top level are JSON texts too.
  CHECK(must_parse("42").as_int64() == 42);
  CHECK(must_parse("\"x\"").as_string() == "x");
  CHECK(must_parse("null").is_null());
}

TEST_CASE("parse reports a truncated body at its end", "[json]") {
  SECTION("object cut short") {
    const auto e = must_fail(R"({"a":1)");
    CHECK(e.offset == 6);
    CHECK(e.message == kEndsEarly);
  }
  SECTION("inside a string") {
    const auto e = must_fail(R"({"a":"hel)");
    CHECK(e.offset == 9);
    CHECK(e.message == kEndsEarly);
  }
  SECTION("literal cut short") {
    const auto e = must_fail("tru");
    CHECK(e.offset == 3);
    CHECK(e.message == kEndsEarly);
  }
  SECTION("empty body") {
    const auto e = must_fail("");
    CHECK(e.offset == 0);
    CHECK(e.message == kEndsEarly);
  }
  SECTION("only whitespace") {
    const auto e = must_fail("   ");
    CHECK(e.offset == 3);
    CHECK(e.message == kEndsEarly);
  }
}

TEST_CASE("parse reports where garbage starts", "[json]") {
  struct Case {
    const char* text;
    std::size_t offset;
  };
  for (const Case c : {
           Case{R"({"a":x})", 5},
           Case{R"([1,2,])", 5},           // trailing comma
           Case{R"([1,,2])", 3},
           Case{R"({"a" 1})", 5},          // missing colon
           Case{R"({'a':1})", 1},          // single quotes
           Case{R"({"a":1 /* c */})", 7},  // comments
           Case{"\"\xff\"", 1},            // invalid UTF-8 inside a string
           Case{"<html>", 0},
       }) {
    CAPTURE(c.text);
    const auto e = must_fail(c.text);
    CHECK(e.offset == c.offset);
    CHECK_FALSE(e.message.empty());
    CHECK(e.message != kEndsEarly);
    CHECK(e.message != kTrailing);
  }
}

TEST_CASE("parse rejects data after the value", "[json]") {
  struct Case {
    const char* text;
    std::size_t offset;
  };
  for (const Case c : {
           Case{R"({"a":1} x)", 8},
           Case{R"({}{})", 2},
           Case{R"({"a":1}})", 7},
           Case{"1 2", 2},
           Case{"{}\n\n,", 4},
       }) {
    CAPTURE(c.text);
    const auto e = must_fail(c.text);
    CHECK(e.offset == c.offset);
    CHECK(e.message == kTrailing);
  }
}

TEST_CASE("parse accepts nesting 32 levels deep", "[json]") {
  const std::string deep = std::string(32, '[') + "1" + std::string(32, ']');
  const auto v = must_parse(deep);
  const boost::json::value* cur = &v;
  int depth = 0;
  while (cur->is_array()) {
    cur = &cur->as_array().at(0);
    ++depth;
  }
  CHECK(depth == 32);
  CHECK(cur->as_int64() == 1);
}

TEST_CASE("find walks object keys", "[json]") {
  const auto v = must_parse(R"({"a":{"b":{"c":7}},"arr":[{"x":1}],"s":"str","nul":null})");
  const auto* c = json::find(v, {"a", "b", "c"});
  REQUIRE(c != nullptr);
  CHECK(c->as_int64() == 7);
  CHECK(json::find(v, {"a", "b"})->is_object());
  CHECK(json::find(v, {}) == &v);  // the empty path is the value itself
  CHECK(json::find(v, {"nul"})->is_null());

  CHECK(json::find(v, {"a", "x"}) == nullptr);        // missing key
  CHECK(json::find(v, {"a", "b", "c", "d"}) == nullptr);  // step into a number
  CHECK(json::find(v, {"s", "x"}) == nullptr);        // step into a string
  CHECK(json::find(v, {"arr", "0"}) == nullptr);      // arrays are not indexed by key
  CHECK(json::find(v, {"nul", "x"}) == nullptr);      // step into null
  CHECK(json::find(v, {"A"}) == nullptr);             // keys are case-sensitive
  CHECK(json::find(must_parse("[1]"), {"a"}) == nullptr);
}

TEST_CASE("get_string returns strings only", "[json]") {
  const auto v = must_parse(R"({"s":"hello","e":"","n":5,"b":true,"z":null,"o":{"s":"inner"}})");
  CHECK(json::get_string(v, {"s"}) == std::optional<std::string>("hello"));
  CHECK(json::get_string(v, {"o", "s"}) == std::optional<std::string>("inner"));
  const auto empty = json::get_string(v, {"e"});
  REQUIRE(empty.has_value());  // present but empty is not missing
  CHECK(empty->empty());
  CHECK_FALSE(json::get_string(v, {"n"}).has_value());
  CHECK_FALSE(json::get_string(v, {"b"}).has_value());
  CHECK_FALSE(json::get_string(v, {"z"}).has_value());
  CHECK_FALSE(json::get_string(v, {"o"}).has_value());
  CHECK_FALSE(json::get_string(v, {"missing"}).has_value());
}

TEST_CASE("get_id writes numbers in decimal", "[json]") {
  const auto v = must_parse(
      R"({"s":"abc-123","i":42,"neg":-7,"zero":0,"big":9007199254740993,)"
      R"("u":18446744073709551615,"d":1.5,"b":true,"z":null,"o":{"id":99}})");
  CHECK(json::get_id(v, {"s"}) == "abc-123");
  CHECK(json::get_id(v, {"i"}) == "42");
  CHECK(json::get_id(v, {"neg"}) == "-7");
  CHECK(json::get_id(v, {"zero"}) == "0");
  // Above 2^53: must not go through a double.
  CHECK(json::get_id(v, {"big"}) == "9007199254740993");
  CHECK(json::get_id(v, {"u"}) == "18446744073709551615");
  CHECK(json::get_id(v, {"o", "id"}) == "99");
  CHECK(json::get_id(v, {"d"}).empty());
  CHECK(json::get_id(v, {"b"}).empty());
  CHECK(json::get_id(v, {"z"}).empty());
  CHECK(json::get_id(v, {"o"}).empty());
  CHECK(json::get_id(v, {"missing"}).empty());
}

TEST_CASE("get_int returns integers only", "[json]") {
  const auto v = must_parse(
      R"({"i":42,"neg":-3,"min":-9223372036854775808,"max":9223372036854775807,)"
      R"("s":"42","d":42.0,"b":true,"z":null})");
  CHECK(json::get_int(v, {"i"}) == std::optional<std::int64_t>(42));
  CHECK(json::get_int(v, {"neg"}) == std::optional<std::int64_t>(-3));
  CHECK(json::get_int(v, {"min"}) == std::numeric_limits<std::int64_t>::min());
  CHECK(json::get_int(v, {"max"}) == std::numeric_limits<std::int64_t>::max());
  CHECK_FALSE(json::get_int(v, {"s"}).has_value());
  CHECK_FALSE(json::get_int(v, {"d"}).has_value());
  CHECK_FALSE(json::get_int(v, {"b"}).has_value());
  CHECK_FALSE(json::get_int(v, {"z"}).has_value());
  CHECK_FALSE(json::get_int(v, {"missing"}).has_value());
}

// Guards against this: get_int casts a uint64 above INT64_MAX to int64_t, so
// 18446744073709551615 comes back as -1 (and 9223372036854775808 as INT64_MIN).
// The code therefore: return nullopt when get_uint64() > INT64_MAX.
TEST_CASE("get_int does not wrap integers above INT64_MAX", "[json]") {
  const auto v = must_parse(R"({"u":18446744073709551615,"u63":9223372036854775808})");
  const auto u = json::get_int(v, {"u"});
  CHECK_FALSE(u.has_value());
  if (u) CHECK(*u > 0);
  CHECK_FALSE(json::get_int(v, {"u63"}).has_value());
}

TEST_CASE("get_bool is true only for the boolean true", "[json]") {
  const auto v =
      must_parse(R"({"t":true,"f":false,"s":"true","one":1,"z":null,"o":{"t":true}})");
  CHECK(json::get_bool(v, {"t"}));
  CHECK(json::get_bool(v, {"o", "t"}));
  CHECK_FALSE(json::get_bool(v, {"f"}));
  CHECK_FALSE(json::get_bool(v, {"s"}));
  CHECK_FALSE(json::get_bool(v, {"one"}));
  CHECK_FALSE(json::get_bool(v, {"z"}));
  CHECK_FALSE(json::get_bool(v, {"o"}));
  CHECK_FALSE(json::get_bool(v, {"missing"}));
}

TEST_CASE("canonical sorts keys at every level and drops whitespace", "[json]") {
  const auto a = must_parse(R"({"b":1,"a":{"d":[3,{"z":1,"y":2}],"c":null}})");
  const auto b = must_parse(R"(
    {
      "a" : { "c" : null , "d" : [ 3 , { "y" : 2 , "z" : 1 } ] } ,
      "b" : 1
    }
  )");
  const std::string expected = R"({"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1})";
  CHECK(json::canonical(a) == expected);
  CHECK(json::canonical(b) == expected);
}

TEST_CASE("canonical keeps array order and value types", "[json]") {
  CHECK(json::canonical(must_parse("[3,1,2]")) == "[3,1,2]");
  CHECK(json::canonical(must_parse("[[2,1],[],[[{\"b\":0,\"a\":[]}]]]")) ==
        R"([[2,1],[],[[{"a":[],"b":0}]]])");
  CHECK(json::canonical(must_parse(R"({"a":1})")) != json::canonical(must_parse(R"({"a":"1"})")));
  CHECK(json::canonical(must_parse("[1,2]")) != json::canonical(must_parse("[2,1]")));
  CHECK(json::canonical(must_parse(R"({"t":true,"f":false,"n":null,"i":-5})")) ==
        R"({"f":false,"i":-5,"n":null,"t":true})");
  CHECK(json::canonical(must_parse("{}")) == "{}");
  CHECK(json::canonical(must_parse("[]")) == "[]");
  // The same double written two ways.
  CHECK(json::canonical(must_parse("[1.5]")) == json::canonical(must_parse("[15e-1]")));
}

TEST_CASE("canonical sorts keys by their bytes", "[json]") {
  // Uppercase before lowercase, non-ASCII (UTF-8 lead byte 0xC3) last.
  CHECK(json::canonical(must_parse("{\"z\":1,\"\xc3\xa9\":2,\"A\":3,\"a\":4,\"aa\":5}")) ==
        "{\"A\":3,\"a\":4,\"aa\":5,\"z\":1,\"\xc3\xa9\":2}");
}

TEST_CASE("canonical writes unicode escapes and raw UTF-8 the same way", "[json]") {
  const auto escaped = must_parse(R"({"s":"caf\u00e9 \u2603 \ud83d\ude00","k\u00e9y":1})");
  const auto raw = must_parse("{\"s\":\"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80\",\"k\xc3\xa9y\":1}");
  const std::string expected =
      "{\"k\xc3\xa9y\":1,\"s\":\"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80\"}";
  CHECK(json::canonical(escaped) == expected);
  CHECK(json::canonical(raw) == expected);
  // Characters that must stay escaped.
  CHECK(json::canonical(must_parse(R"(["a\"b\\c\/d\n\u0001"])")) == R"(["a\"b\\c/d\n\u0001"])");
}

TEST_CASE("canonical output parses back to the same canonical text", "[json]") {
  const auto v = must_parse(
      R"({"z":[{"b":"\u00e9","a":[1,2.5,-3]}],"y":{"x":{"w":null}},"s":"q\"uote"})");
  const std::string once = json::canonical(v);
  CHECK(json::canonical(must_parse(once)) == once);
}

// Guards against this: parse accepts numbers beyond the double range (`1e400`, valid
// JSON grammar) as infinity, and Boost.JSON serializes infinity as
// `Infinity`, which is not JSON. canonical() and every serialization of a
// body holding such a number (the envelope's `raw`) then produce text that
// json::parse itself rejects. The code therefore: have parse reject non-finite numbers
// (walk the parsed value and fail with "number out of range").
TEST_CASE("canonical output is JSON even for out-of-range numbers", "[json]") {
  json::ParseError error;
  const auto v = json::parse(R"({"x":1e400,"y":-1e400})", error);
  if (v) {
    const std::string text = json::canonical(*v);
    INFO("canonical: " << text);
    json::ParseError again;
    CHECK(json::parse(text, again).has_value());
  } else {
    CHECK_FALSE(error.message.empty());
  }
}
