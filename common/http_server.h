// HTTP/1.1 scaffolding both programs serve with (Boost.Beast underneath, kept
// out of this header so that including it stays cheap).
//
// One io_context run by `threads` threads; one session object per
// connection on its own strand; keep-alive; a header read timeout, an idle
// timeout between keep-alive requests, a header size limit and a body limit
// checked before the body is read (413). Handlers answer asynchronously
// through a Responder, so a handler thread never waits on Kafka or Postgres.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace fourkeys::http {

struct Request {
  std::string method;      // "POST"
  std::string target;      // "/webhooks/github?x=1"
  std::string path;        // "/webhooks/github"
  std::string query;       // "x=1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string request_id;  // X-Request-Id when sent, else generated
  std::chrono::steady_clock::time_point started;  // when the header was complete
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Sends the answer. Call exactly once, from any thread.
using Responder = std::function<void(Response)>;

class Handler {
 public:
  virtual ~Handler() = default;
  // Called on a server thread; must not block. Owns nothing of the session.
  virtual void handle(Request request, Responder respond) = 0;
  // Called when the server answered by itself (413, 411, 400 for a broken
  // request line or headers) so the handler can log and count it.
  virtual void on_rejected(const Request& partial, int status, std::string_view reason) {
    (void)partial;
    (void)status;
    (void)reason;
  }
};

struct ServerSettings {
  std::string listen = "0.0.0.0:8080";  // host:port; port 0 picks a free one
  int threads = 0;                      // 0 = one per core
  std::size_t body_limit = 25 * 1024 * 1024;
  std::uint32_t header_limit = 64 * 1024;
  std::chrono::milliseconds read_timeout{30000};   // to read one request
  std::chrono::milliseconds idle_timeout{60000};   // between keep-alive requests
  std::string server_name = "fourkeys";
};

// A JSON error body: {"error": <status text>, "message": <message>}.
Response json_error(int status, std::string_view message);

class Server {
 public:
  // Binds and listens at once (throws std::system_error on failure), so
  // port() is valid after construction. `handler` must outlive the server.
  Server(ServerSettings settings, Handler& handler);
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  unsigned short port() const;

  // Runs the threads; returns after stop() once every request in flight has
  // been answered and every connection closed.
  void run();

  // Graceful stop, callable from any thread or a signal handler thread:
  // stop accepting, close idle connections, let requests in flight finish
  // (their answers carry Connection: close).
  void stop();

  boost::asio::io_context& context();

  // Requests read and not yet answered.
  std::size_t in_flight() const;

  struct Impl;  // public only so that the session type in the .cc can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fourkeys::http
