#include "tools/generate/sender.h"

#include "common/time.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace fourkeys::generate {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

Target parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) {
    throw std::invalid_argument("the receiver URL must start with http:// (got " + url + ")");
  }
  std::string rest = url.substr(scheme.size());
  Target t;
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) t.base_path = rest.substr(slash);
  while (!t.base_path.empty() && t.base_path.back() == '/') t.base_path.pop_back();
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos || authority.back() == ']') {
    t.host = authority;
    t.port = "80";
  } else {
    t.host = authority.substr(0, colon);
    t.port = authority.substr(colon + 1);
  }
  if (!t.host.empty() && t.host.front() == '[' && t.host.back() == ']') t.host = t.host.substr(1, t.host.size() - 2);
  if (t.host.empty() || t.port.empty() ||
      !std::all_of(t.port.begin(), t.port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    throw std::invalid_argument("cannot read host and port from " + url);
  }
  return t;
}

namespace {

struct Answer {
  int status = 0;  // 0: no answer (connection failed)
  std::string body;
  std::string retry_after;
  std::string error;
};

// One keep-alive connection; reconnects when the server closed it.
class Connection {
 public:
  explicit Connection(const Target& target) : target_(target) {}

  Answer post(const Delivery& d) {
    Answer a;
    for (int round = 0; round < 2; ++round) {
      const bool fresh = !stream_;
      try {
        if (fresh) connect();
        bhttp::request<bhttp::string_body> req{bhttp::verb::post, target_.base_path + d.path, 11};
        req.set(bhttp::field::host, target_.host + ":" + target_.port);
        for (const auto& [k, v] : d.headers) req.set(k, v);
        req.body() = d.body;
        req.prepare_payload();
        stream_->expires_after(std::chrono::seconds(30));
        bhttp::write(*stream_, req);
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(1 << 20);
        bhttp::read(*stream_, buffer_, parser);
        auto res = parser.release();
        a.status = static_cast<int>(res.result_int());
        a.body = res.body();
        a.retry_after = std::string(res[bhttp::field::retry_after]);
        if (!res.keep_alive()) stream_.reset();
        return a;
      } catch (const std::exception& e) {
        stream_.reset();
        a.error = e.what();
        // A kept-alive connection the server closed meanwhile: once more on a new one.
        if (fresh) break;
      }
    }
    return a;
  }

 private:
  void connect() {
    stream_ = std::make_unique<beast::tcp_stream>(ioc_);
    buffer_.clear();
    tcp::resolver resolver(ioc_);
    stream_->expires_after(std::chrono::seconds(10));
    stream_->connect(resolver.resolve(target_.host, target_.port));
  }

  const Target& target_;
  asio::io_context ioc_;
  std::unique_ptr<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

std::string answer_status(const std::string& body) {
  boost::json::error_code ec;
  const auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const auto* s = v.as_object().if_contains("status");
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}

std::string describe(std::size_t index, const Delivery& d) {
  return "#" + std::to_string(index + 1) + " " + d.source + " " + d.event + " (" + d.service + ", " +
         format_time(d.time) + ")";
}

std::string clip(std::string text) {
  if (text.size() > 300) text = text.substr(0, 300) + "...";
  return text;
}

}  // namespace

SendResult send_all(const std::vector<Delivery>& deliveries, const SendOptions& options) {
  SendResult result;
  std::mutex mutex;  // guards result
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  const auto start = Clock::now();

  auto worker = [&] {
    Connection connection(options.target);
    while (true) {
      const std::size_t i = next.fetch_add(1);
      if (i >= deliveries.size()) return;
      if (options.rate > 0) {
        std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(static_cast<double>(i) / options.rate)));
      }
      const Delivery& d = deliveries[i];
      Answer a;
      int attempt = 0;
      std::size_t retries = 0;
      while (true) {
        a = connection.post(d);
        ++attempt;
        const bool retry = a.status == 0 || a.status == 429 || a.status >= 500;
        if (!retry || attempt >= options.max_attempts) break;
        // Webhook senders come back later; Retry-After says when at the earliest.
        auto wait = options.first_backoff * (1 << std::min(attempt - 1, 16));
        if (!a.retry_after.empty() && std::all_of(a.retry_after.begin(), a.retry_after.end(),
                                                  [](unsigned char c) { return std::isdigit(c); })) {
          wait = std::max<std::chrono::milliseconds>(wait, std::chrono::seconds(std::stoll(a.retry_after)));
        }
        std::this_thread::sleep_for(std::min(wait, options.max_backoff));
        ++retries;
      }
      std::lock_guard lock(mutex);
      ++result.sent;
      result.retries += retries;
      const std::string status = answer_status(a.body);
      if (a.status == 202 && status == "dead_lettered") {
        ++result.dead_lettered;
        result.unexpected.push_back(describe(i, d) + ": dead-lettered: " + clip(a.body));
      } else if (a.status >= 200 && a.status < 300 && status == "ignored") {
        ++result.ignored;
        if (d.stored) result.unexpected.push_back(describe(i, d) + ": ignored: " + clip(a.body));
      } else if (a.status >= 200 && a.status < 300) {
        ++result.accepted;
        if (!d.stored) result.unexpected.push_back(describe(i, d) + ": accepted, expected to be ignored");
      } else if (a.status == 0) {
        result.errors.push_back(describe(i, d) + ": no answer after " + std::to_string(attempt) + " attempts: " + a.error);
      } else {
        result.errors.push_back(describe(i, d) + ": HTTP " + std::to_string(a.status) +
                                (attempt > 1 ? " after " + std::to_string(attempt) + " attempts" : "") + ": " +
                                clip(a.body));
      }
      ++done;
    }
  };

  std::atomic<bool> finished{false};
  std::thread progress;
  std::mutex progress_mutex;
  std::condition_variable progress_cv;
  if (options.progress) {
    progress = std::thread([&] {
      auto line = [&] {
        std::size_t accepted, ignored, failed;
        {
          std::lock_guard lock(mutex);
          accepted = result.accepted;
          ignored = result.ignored + result.dead_lettered;
          failed = result.errors.size();
        }
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        std::fprintf(stderr, "\r  %zu/%zu sent, %zu accepted, %zu ignored, %zu failed, %.0f/s   ", done.load(),
                     deliveries.size(), accepted, ignored, failed, elapsed > 0 ? static_cast<double>(done.load()) / elapsed : 0.0);
        std::fflush(stderr);
      };
      std::unique_lock lock(progress_mutex);
      while (!finished) {
        progress_cv.wait_for(lock, std::chrono::milliseconds(200));
        if (!finished) line();
      }
      line();
      std::fputc('\n', stderr);
    });
  }

  std::vector<std::thread> threads;
  const int n = std::max(1, std::min<int>(options.concurrency, static_cast<int>(std::max<std::size_t>(1, deliveries.size()))));
  for (int t = 0; t < n; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (progress.joinable()) {
    {
      std::lock_guard lock(progress_mutex);
      finished = true;
    }
    progress_cv.notify_all();
    progress.join();
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

void write_files(const std::vector<Delivery>& deliveries, const std::string& dir) {
  std::filesystem::create_directories(dir);
  for (std::size_t i = 0; i < deliveries.size(); ++i) {
    const Delivery& d = deliveries[i];
    std::string event;
    for (char c : d.event) event += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    char name[32];
    std::snprintf(name, sizeof name, "%06zu-", i + 1);
    const auto path = std::filesystem::path(dir) / (name + d.source + "-" + event + ".http");
    std::ofstream out(path, std::ios::binary);
    out << "POST " << d.path << " HTTP/1.1\r\n";
    for (const auto& [k, v] : d.headers) out << k << ": " << v << "\r\n";
    out << "Content-Length: " << d.body.size() << "\r\n\r\n" << d.body;
    if (!out) throw std::runtime_error("cannot write " + path.string());
  }
}

void write_json_lines(const std::vector<Delivery>& deliveries, std::ostream& out) {
  for (const Delivery& d : deliveries) {
    boost::json::object headers;
    for (const auto& [k, v] : d.headers) headers[k] = v;
    boost::json::object line{{"time", format_time(d.time)}, {"service", d.service}, {"source", d.source},
                             {"event", d.event},           {"method", "POST"},      {"path", d.path},
                             {"headers", headers},         {"body", d.body}};
    out << boost::json::serialize(line) << '\n';
  }
  if (!out) throw std::runtime_error("cannot write the JSON lines");
}

}  // namespace fourkeys::generate
