// The receiver under hostile HTTP: trickled headers, bodies that stop,
// gigantic headers, thousands of requests on one connection, invalid UTF-8,
// JSON nested 10,000 deep, huge numbers, duplicate keys, NUL bytes, wrong
// Content-Length, broken chunked encoding, HTTP/1.0 and pipelining. Each
// gets its defined answer or a closed connection; the receiver stays up,
// keeps serving others, and its memory stays bounded.

#include "tests/support/process.h"
#include "tests/support/receiver_harness.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace fourkeys::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A plain TCP connection that sends exactly the bytes it is given, so the
// test can send what no HTTP client library would.
class RawConnection {
 public:
  explicit RawConnection(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False once the server has closed (or reset) the connection.
  bool send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads until `answers` complete answers arrived, the server closed the
  // connection, or `timeout` passed.
  void read(std::size_t answers, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!closed && statuses.size() < answers) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
      char chunk[65536];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        closed = true;
        closed_at = Clock::now();
      } else {
        buffer_.append(chunk, static_cast<std::size_t>(n));
      }
      take_answers();
    }
  }

  std::vector<int> statuses;  // of the complete answers, in order
  std::vector<std::string> bodies;
  bool closed = false;
  Clock::time_point closed_at;

 private:
  void take_answers() {
    for (;;) {
      const auto end = buffer_.find("\r\n\r\n");
      if (end == std::string::npos || buffer_.compare(0, 5, "HTTP/") != 0) return;
      const std::string head = buffer_.substr(0, end);
      std::size_t length = 0;
      for (std::size_t at = head.find("\r\n"); at != std::string::npos; at = head.find("\r\n", at + 2)) {
        std::string line = head.substr(at + 2, head.find("\r\n", at + 2) - at - 2);
        for (auto& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (line.rfind("content-length:", 0) == 0) length = std::stoul(line.substr(15));
      }
      if (buffer_.size() < end + 4 + length) return;
      statuses.push_back(std::stoi(head.substr(9, 3)));
      bodies.push_back(buffer_.substr(end + 4, length));
      buffer_.erase(0, end + 4 + length);
    }
  }

  int fd_ = -1;
  std::string buffer_;
};

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::string api_post(const std::string& body, const std::string& extra_headers = "",
                     std::optional<std::size_t> content_length = std::nullopt) {
  return "POST /events/deployment HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + kApiToken +
         "\r\nContent-Type: application/json\r\n" + extra_headers + "Content-Length: " +
         std::to_string(content_length.value_or(body.size())) + "\r\n\r\n" + body;
}

std::string deployment_json(const std::string& service, const std::string& extra = "") {
  return R"({"service":")" + service + R"(","commit_sha":"0123456789abcdef0123456789abcdef01234567",)" +
         R"("deployed_at":"2026-01-01T12:00:00Z")" + extra + "}";
}

}  // namespace

TEST_CASE("hostile HTTP gets defined answers or a closed connection, and the receiver keeps serving",
          "[receiver][hostile]") {
  EmbeddedKafka kafka(true);
  ReceiverProcess receiver(kafka.brokers(), {{"FOURKEYS_READ_TIMEOUT", "2s"}, {"FOURKEYS_IDLE_TIMEOUT", "3s"}});
  REQUIRE(receiver.wait_ready(30s));
  const unsigned short port = receiver.port();
  const int pid = receiver.process().pid();
  const std::string service = "hostile-" + unique_suffix();

  // Warm up (Kafka connection, first allocations) before the baseline.
  {
    RawConnection c(port);
    REQUIRE(c.send(api_post(deployment_json(service))));
    c.read(1, 10s);
    REQUIRE(c.statuses == std::vector<int>{202});
  }
  const long rss_before = rss_kib(pid);
  REQUIRE(rss_before > 0);

  SECTION("headers trickled a byte at a time are cut off at the read timeout") {
    RawConnection c(port);
    const std::string head = "POST /events/deployment HTTP/1.1\r\nHost: test\r\nX-Slow: " + std::string(200, 'a');
    const auto started = Clock::now();
    for (char ch : head) {
      if (!c.send(std::string(1, ch))) break;
      std::this_thread::sleep_for(25ms);
      c.read(1, 0ms);
      if (c.closed) break;
    }
    c.read(1, 5s);
    CHECK(c.closed);
    CHECK(c.closed_at - started < 4s);
    for (int s : c.statuses) CHECK(s == 408);
  }

  SECTION("a body that stops early is cut off at the read timeout") {
    RawConnection c(port);
    const std::string body = deployment_json(service);
    REQUIRE(c.send(api_post(body.substr(0, 10), "", body.size())));
    const auto started = Clock::now();
    c.read(1, 6s);
    CHECK(c.closed);
    CHECK(c.closed_at - started < 4s);
    for (int s : c.statuses) CHECK(s == 408);
  }

  SECTION("a gigantic header is refused and the connection closed") {
    RawConnection c(port);
    c.send("GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: " + std::string(1 << 20, 'h') + "\r\n\r\n");
    c.read(2, 5s);  // an answer, then the close
    CHECK(c.closed);
    CHECK(c.statuses.size() <= 1);
    for (int s : c.statuses) CHECK(s == 431);
  }

  SECTION("a body over the limit is refused with 413 before it is sent") {
    RawConnection c(port);
    REQUIRE(c.send(api_post("", "", 100u << 20)));
    c.read(1, 5s);
    REQUIRE(c.statuses == std::vector<int>{413});
  }

  SECTION("two thousand small requests on one connection, pipelined a hundred at a time") {
    RawConnection c(port);
    std::string batch;
    for (int i = 0; i < 100; ++i) batch += "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";
    for (int round = 0; round < 20; ++round) {
      REQUIRE(c.send(batch));
      c.read(static_cast<std::size_t>(100 * (round + 1)), 10s);
    }
    REQUIRE(c.statuses.size() == 2000);
    CHECK(std::count(c.statuses.begin(), c.statuses.end(), 200) == 2000);
    CHECK_FALSE(c.closed);
  }

  SECTION("pipelined deliveries are answered in order") {
    RawConnection c(port);
    const std::string twice = api_post(deployment_json(service + "-p1")) + api_post(deployment_json(service + "-p2"));
    REQUIRE(c.send(twice));
    c.read(2, 10s);
    REQUIRE(c.statuses == std::vector<int>{202, 202});
    CHECK(c.bodies[0].find("\"accepted\"") != std::string::npos);
    CHECK(c.bodies[0] != c.bodies[1]);  // two deliveries, two ids
  }

  SECTION("bodies that are not valid JSON get 400 saying where") {
    const std::vector<std::pair<std::string, std::string>> bodies = {
        {"invalid UTF-8", deployment_json("bad-\xc3\x28-utf8")},
        {"a raw NUL byte", deployment_json(std::string("nul-\0-byte", 10))},
        {"nesting 10,000 deep", R"({"service":"x","deep":)" + std::string(10000, '[') + std::string(10000, ']') + "}"},
        {"a number beyond any double", deployment_json(service, R"(,"n":1e999999)")},
    };
    for (const auto& [what, body] : bodies) {
      INFO(what);
      RawConnection c(port);
      REQUIRE(c.send(api_post(body)));
      c.read(1, 5s);
      REQUIRE(c.statuses == std::vector<int>{400});
      CHECK(c.bodies[0].find("\"error\"") != std::string::npos);
    }
  }

  SECTION("huge integers and duplicate keys are JSON, and accepted") {
    for (const std::string& body :
         {deployment_json(service, R"(,"n":123456789012345678901234567890123456789)"),
          R"({"service":"dup-a","service":")" + service + R"(","commit_sha":"0123456789abcdef0123456789abcdef01234567","deployed_at":"2026-01-01T12:00:00Z"})"}) {
      INFO(body);
      RawConnection c(port);
      REQUIRE(c.send(api_post(body)));
      c.read(1, 10s);
      REQUIRE(c.statuses == std::vector<int>{202});
    }
  }

  SECTION("a Content-Length shorter than the body: the rest is read as the next request") {
    RawConnection c(port);
    const std::string body = deployment_json(service);
    REQUIRE(c.send(api_post(body, "", body.size() / 2)));
    c.read(2, 5s);
    REQUIRE(c.statuses.size() >= 1);
    CHECK(c.statuses[0] == 400);  // half a JSON object
    if (c.statuses.size() > 1) CHECK(c.statuses[1] == 400);  // the other half is no request line
  }

  SECTION("chunked bodies with bad chunks are refused") {
    for (const std::string& chunks : {std::string("ZZZ\r\n{}\r\n0\r\n\r\n"), std::string("5\r\n{}\r\n0\r\n\r\n"),
                                      std::string("ffffffffffffffffff\r\n{}\r\n")}) {
      INFO(chunks);
      RawConnection c(port);
      REQUIRE(c.send("POST /events/deployment HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + kApiToken +
                     "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks));
      c.read(1, 5s);
      REQUIRE(c.statuses.size() == 1);
      CHECK((c.statuses[0] == 400 || c.statuses[0] == 413));
      c.read(2, 5s);
      CHECK(c.closed);
    }
  }

  SECTION("HTTP/1.0 is answered and the connection closed") {
    RawConnection c(port);
    REQUIRE(c.send("GET /healthz HTTP/1.0\r\n\r\n"));
    c.read(2, 5s);
    REQUIRE(c.statuses == std::vector<int>{200});
    CHECK(c.closed);
  }

  // Whatever came before, others are still served.
  RawConnection after(port);
  REQUIRE(after.send("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n" + api_post(deployment_json(service + "-after"))));
  after.read(2, 10s);
  CHECK(after.statuses == std::vector<int>{200, 202});
  CHECK(receiver.process().running());
  // Memory stays bounded: nothing above grows the receiver by more than a
  // few buffers.
  const long rss_after = rss_kib(pid);
  INFO("RSS " << rss_before << " KiB before, " << rss_after << " KiB after");
  CHECK(rss_after < rss_before + 64 * 1024);
}
