// fourkeys-bench-e2e: time from the receiver's 202 to the deployment's row
// in Postgres (written in the same transaction as its metrics_daily row),
// at a steady rate. Posts the seed's /events/deployment bodies over one
// keep-alive connection; a second thread polls Postgres every few
// milliseconds for the deployments answered and not yet seen.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  CLI::App app{"fourkeys-bench-e2e: 202 → row visible in Postgres, p50/p99"};
  std::string host = "127.0.0.1", token, database_url;
  int port = 8080, rate = 50, seconds = 20, services = 20;
  int poll_ms = 2;
  app.add_option("--host", host)->capture_default_str();
  app.add_option("--port", port)->capture_default_str();
  app.add_option("--token", token, "API bearer token")->required();
  app.add_option("--database-url", database_url)->required();
  app.add_option("--rate", rate, "deployments per second")->capture_default_str();
  app.add_option("--seconds", seconds)->capture_default_str();
  app.add_option("--services", services)->capture_default_str();
  app.add_option("--poll-ms", poll_ms)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::mutex mutex;
  std::map<std::string, Clock::time_point> pending;  // deploy_id -> 202 time
  std::vector<double> latencies_ms;
  std::atomic<bool> sending{true};
  int failures = 0;

  std::thread poller([&] {
    pqxx::connection c(database_url);
    for (;;) {
      std::vector<std::string> ids;
      {
        std::lock_guard lock(mutex);
        for (const auto& [id, t] : pending) ids.push_back(id);
        if (ids.empty() && !sending) break;
      }
      if (!ids.empty()) {
        std::string list = "{";
        for (std::size_t i = 0; i < ids.size(); ++i) list += (i ? ",\"" : "\"") + ids[i] + "\"";
        list += "}";
        pqxx::nontransaction tx(c);
        const auto rows = tx.exec_params("SELECT deploy_id FROM deployment_attempts WHERE deploy_id = ANY($1::text[])", list);
        const auto seen = Clock::now();
        std::lock_guard lock(mutex);
        for (const auto& r : rows) {
          auto it = pending.find(r[0].c_str());
          if (it == pending.end()) continue;
          latencies_ms.push_back(std::chrono::duration<double, std::milli>(seen - it->second).count());
          pending.erase(it);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
    }
  });

  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  boost::beast::tcp_stream stream(io);
  stream.connect(resolver.resolve(host, std::to_string(port)));
  const auto start = Clock::now();
  const auto total = rate * seconds;
  for (int i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(1'000'000LL * i / rate));
    char sha[41];
    std::snprintf(sha, sizeof sha, "%08x%032x", static_cast<unsigned>(i), static_cast<unsigned>(start.time_since_epoch().count() & 0x7fffffff));
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    char deployed[32], committed[32];
    std::strftime(deployed, sizeof deployed, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    const std::time_t c = t - 3600;
    std::strftime(committed, sizeof committed, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&c));
    boost::json::object body{{"service", "e2e/service-" + std::to_string(i % services)},
                              {"environment", "production"},
                              {"commit_sha", sha},
                              {"commit_timestamp", committed},
                              {"deployed_at", deployed}};
    http::request<http::string_body> req{http::verb::post, "/events/deployment", 11};
    req.set(http::field::host, host);
    req.set(http::field::authorization, "Bearer " + token);
    req.set(http::field::content_type, "application/json");
    req.body() = boost::json::serialize(body);
    req.prepare_payload();
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    const auto answered = Clock::now();
    if (res.result_int() != 202) {
      ++failures;
      continue;
    }
    const auto id = boost::json::parse(res.body()).at("id").as_string();
    std::lock_guard lock(mutex);
    pending[std::string(id)] = answered;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    {
      std::lock_guard lock(mutex);
      if (pending.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  sending = false;
  {
    std::lock_guard lock(mutex);
    pending.clear();
  }
  poller.join();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(latencies_ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(latencies_ms.size())))];
  };
  std::printf("sent %d at %d/s, answered 202 and seen %zu, not 202 %d, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", total,
              rate, latencies_ms.size(), failures, pct(0.5), pct(0.99), latencies_ms.empty() ? 0.0 : latencies_ms.back());
  return failures == 0 && static_cast<int>(latencies_ms.size()) == total ? 0 : 1;
}
