// The worker's binary COPY against a real Postgres: every field type it
// writes reads back as the value it was given, a duplicate key comes back as
// pqxx::unique_violation, and a COPY left
// unfinished by an exception leaves a connection that can roll back and go
// on.

#include "tests/support/worker_harness.h"
#include "worker/pg_copy.h"

#include "common/time.h"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <cmath>
#include <limits>

using namespace fourkeys;
using namespace fourkeys::testing;
using namespace fourkeys::worker;

namespace {

Millis at(const char* text) { return parse_time(text)->millis; }

const std::vector<std::string> kColumns{"t", "i4", "i8", "f8", "b", "ts", "d", "ta", "ia", "j", "tsa", "fa"};

void create_table(pqxx::transaction_base& tx) {
  tx.exec(
      "CREATE TABLE typed (n serial, t text, i4 integer, i8 bigint, f8 double precision, b boolean, "
      "ts timestamptz, d date, ta text[], ia integer[], j json, tsa timestamptz[], fa double precision[], "
      "PRIMARY KEY (n))");
  tx.exec("CREATE UNIQUE INDEX typed_t ON typed (t)");
}

}  // namespace

TEST_CASE("binary COPY: every type the worker writes reads back unchanged", "[pg]") {
  TestDatabase db;
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  create_table(tx);

  const std::string text = "tab\there, new\nline, back\\slash, \"quotes\", 'single', \\N, ünïcødé 🚀";
  const std::string envelope = R"({"id":"x","payload":{"text":"a\tb\\c","n":[1,2.5e300]}})";
  const std::vector<Millis> times{at("1969-07-20T20:17:40.123Z"), at("2026-11-27T23:59:59.999Z")};
  const std::vector<std::string> shas{"b", "", "a,\"{"};
  const std::vector<double> reals{0.1 + 0.2, -1e-300, 2.5e300};
  CopyRows rows;
  rows.text(text).int4(std::numeric_limits<std::int32_t>::min()).int8(std::numeric_limits<std::int64_t>::max())
      .float8(0.1 + 0.2).boolean(true).time(at("1969-07-20T20:17:40.123Z")).date("1999-12-31")
      .text_array({"a", "", "with,comma", "q\"uote", "back\\slash", "{brace}"}).int4_array({-1, 0, 7})
      .text(envelope).time_array(times.size(), [&](std::size_t i) { return times[i]; })
      .float8_array(reals.size(), [&](std::size_t i) { return reals[i]; });
  rows.end_row();
  rows.text_or_null("second").int4(std::numeric_limits<std::int32_t>::max())
      .int8(std::numeric_limits<std::int64_t>::min()).float8(-1e-300).boolean(false)
      .time(at("2026-11-27T23:59:59.999Z")).date("2026-02-28").text_array(shas.size(), [&](std::size_t i) -> const std::string& { return shas[i]; })
      .int4_array({}).text("[]").time_array(0, [](std::size_t) { return Millis{0}; })
      .float8_array(0, [](std::size_t) { return 0.0; });
  rows.end_row();
  rows.text("third").null().null().float8(std::optional<double>()).null().time(std::optional<Millis>()).null()
      .null().null().null().null().null();
  rows.end_row();
  copy_into(tx, "typed", kColumns, rows);

  const auto r = tx.exec(
      "SELECT t, i4, i8, f8, b, (extract(epoch FROM ts) * 1000)::bigint, d::text, ta, ia::text, j::text, "
      "ta IS NULL, f8 IS NULL, "
      "(SELECT array_agg((extract(epoch FROM x) * 1000)::bigint ORDER BY o) FROM unnest(tsa) WITH ORDINALITY u(x, o))::text, "
      "fa[1], fa[2], fa[3], cardinality(fa), cardinality(tsa), tsa IS NULL, fa IS NULL FROM typed ORDER BY n");
  REQUIRE(r.size() == 3);
  CHECK(r[0][0].as<std::string>() == text);
  CHECK(r[0][1].as<long long>() == std::numeric_limits<std::int32_t>::min());
  CHECK(r[0][2].as<long long>() == std::numeric_limits<std::int64_t>::max());
  CHECK(r[0][3].as<double>() == 0.1 + 0.2);
  CHECK(r[0][4].as<bool>());
  CHECK(r[0][5].as<long long>() == at("1969-07-20T20:17:40.123Z"));
  CHECK(r[0][6].as<std::string>() == "1999-12-31");
  CHECK(r[0][7].as<std::string>() == R"({a,"","with,comma","q\"uote","back\\slash","{brace}"})");
  CHECK(r[0][8].as<std::string>() == "{-1,0,7}");
  CHECK(r[0][9].as<std::string>() == envelope);  // json keeps the text as sent
  CHECK(r[0][12].as<std::string>() == "{" + std::to_string(times[0]) + "," + std::to_string(times[1]) + "}");
  CHECK(r[0][13].as<double>() == reals[0]);
  CHECK(r[0][14].as<double>() == reals[1]);
  CHECK(r[0][15].as<double>() == reals[2]);
  CHECK(r[0][16].as<int>() == 3);

  CHECK(r[1][0].as<std::string>() == "second");
  CHECK(r[1][1].as<long long>() == std::numeric_limits<std::int32_t>::max());
  CHECK(r[1][2].as<long long>() == std::numeric_limits<std::int64_t>::min());
  CHECK(r[1][3].as<double>() == -1e-300);
  CHECK_FALSE(r[1][4].as<bool>());
  CHECK(r[1][5].as<long long>() == at("2026-11-27T23:59:59.999Z"));
  CHECK(r[1][6].as<std::string>() == "2026-02-28");
  CHECK(r[1][7].as<std::string>() == R"({b,"","a,\"{"})");
  CHECK(r[1][8].as<std::string>() == "{}");
  CHECK(r[1][16].as<int>() == 0);
  CHECK(r[1][17].as<int>() == 0);

  for (int column = 1; column <= 9; ++column) CHECK(r[2][column].is_null());
  CHECK(r[2][10].as<bool>());
  CHECK(r[2][11].as<bool>());
  CHECK(r[2][18].as<bool>());
  CHECK(r[2][19].as<bool>());
  tx.commit();
}

TEST_CASE("binary COPY: a text array's empty elements are NULL with text_or_null_array", "[pg]") {
  TestDatabase db;
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  create_table(tx);
  const std::vector<std::string> some{"Ada", "", "q\"uote, {x}"}, none{"a", "b"};
  CopyRows rows;
  rows.text("some").text_or_null_array(some.size(), [&](std::size_t i) -> const std::string& { return some[i]; });
  rows.end_row();
  rows.text("none").text_or_null_array(none.size(), [&](std::size_t i) -> const std::string& { return none[i]; });
  rows.end_row();
  rows.text("all").text_or_null_array(2, [](std::size_t) { return std::string(); });
  rows.end_row();
  rows.text("empty").text_or_null_array(0, [](std::size_t) { return std::string(); });
  rows.end_row();
  copy_into(tx, "typed", {"t", "ta"}, rows);
  const auto r = tx.exec("SELECT ta::text, ta[2] IS NULL, cardinality(ta) FROM typed ORDER BY n");
  CHECK(r[0][0].as<std::string>() == R"({Ada,NULL,"q\"uote, {x}"})");
  CHECK(r[0][1].as<bool>());
  CHECK(r[1][0].as<std::string>() == "{a,b}");
  CHECK_FALSE(r[1][1].as<bool>());
  CHECK(r[2][0].as<std::string>() == "{NULL,NULL}");
  CHECK(r[2][2].as<int>() == 2);
  CHECK(r[3][0].as<std::string>() == "{}");
  CHECK(r[3][2].as<int>() == 0);
}

TEST_CASE("binary COPY: a streamed COPY of many chunks stores every row once", "[pg]") {
  TestDatabase db;
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  create_table(tx);
  CopyWriter writer(tx, "typed", {"t", "i8"});
  const std::string padding(5000, 'x');
  for (int i = 0; i < 400; ++i) {  // ~2 MB: several chunks
    writer.rows().text(std::to_string(i) + padding).int8(i);
    writer.rows().end_row();
    writer.row_done();
  }
  writer.complete();
  CHECK(writer.rows_sent() == 400);
  const auto r = tx.exec("SELECT count(*), sum(i8), count(DISTINCT t) FROM typed");
  CHECK(r[0][0].as<long long>() == 400);
  CHECK(r[0][1].as<long long>() == 399 * 400 / 2);
  CHECK(r[0][2].as<long long>() == 400);
}

TEST_CASE("binary COPY: errors come back as libpqxx's, and the connection goes on", "[pg]") {
  TestDatabase db;
  pqxx::connection c(db.url());
  {
    pqxx::work tx(c);
    create_table(tx);
    tx.commit();
  }
  CopyRows one;
  one.text("same").int8(1);
  one.end_row();

  SECTION("a duplicate key is a unique_violation with its SQLSTATE, and a savepoint takes it back") {
    pqxx::work tx(c);
    copy_into(tx, "typed", {"t", "i8"}, one);
    tx.exec("SAVEPOINT s");
    try {
      copy_into(tx, "typed", {"t", "i8"}, one);
      FAIL("the duplicate was stored");
    } catch (const pqxx::unique_violation& e) {
      CHECK(e.sqlstate() == "23505");
    }
    tx.exec("ROLLBACK TO SAVEPOINT s");
    CHECK(tx.exec("SELECT count(*) FROM typed")[0][0].as<int>() == 1);
    tx.commit();
  }

  SECTION("a field of the wrong size fails the COPY, it does not store a wrong value") {
    pqxx::work tx(c);
    CopyRows wrong;
    wrong.text("x").int4(1);  // i8 is bigint
    wrong.end_row();
    try {
      copy_into(tx, "typed", {"t", "i8"}, wrong);
      FAIL("a 4-byte field was stored in a bigint");
    } catch (const pqxx::sql_error& e) {
      // "insufficient data left in message" (08P01) or "incorrect binary
      // data format" (22P03), by where the sizes disagree.
      CHECK((e.sqlstate() == "08P01" || e.sqlstate() == "22P03"));
    }
    tx.abort();
    pqxx::work after(c);
    CHECK(after.exec("SELECT count(*) FROM typed")[0][0].as<int>() == 0);
  }

  SECTION("a COPY abandoned mid-stream leaves the connection able to roll back") {
    {
      pqxx::work tx(c);
      try {
        CopyWriter writer(tx, "typed", {"t", "i8"});
        for (int i = 0; i < 200; ++i) {
          writer.rows().text(std::string(5000, 'y') + std::to_string(i)).int8(i);
          writer.rows().end_row();
          writer.row_done();
        }
        REQUIRE(writer.rows_sent() > 0);  // the COPY is under way
        throw std::runtime_error("a row could not be built");
      } catch (const std::runtime_error&) {
      }
      tx.abort();
    }
    pqxx::work tx(c);
    CHECK(tx.exec("SELECT count(*) FROM typed")[0][0].as<int>() == 0);
    copy_into(tx, "typed", {"t", "i8"}, one);
    CHECK(tx.exec("SELECT count(*) FROM typed")[0][0].as<int>() == 1);
    tx.commit();
  }
}
