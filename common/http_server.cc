#include "common/http_server.h"

#include "common/log.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/compile.h>

#include <array>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>

namespace fourkeys::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

Response json_error(int status, std::string_view message) {
  Response r;
  r.status = status;
  boost::json::object o;
  o["error"] = std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(status)));
  o["message"] = message;
  r.body = boost::json::serialize(o);
  return r;
}

namespace {

std::string new_request_id() {
  static std::atomic<std::uint64_t> counter{0};
  static const std::uint64_t prefix = std::random_device{}();
  char buf[48];
  char* end = fmt::format_to(buf, FMT_COMPILE("{:08x}-{}"), prefix & 0xffffffffULL, ++counter);
  return std::string(buf, static_cast<std::size_t>(end - buf));
}

class Session;

}  // namespace

struct Server::Impl {
  ServerSettings settings;
  Handler& handler;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> in_flight{0};
  std::mutex sessions_mutex;
  std::unordered_set<std::shared_ptr<Session>> sessions;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  int thread_count = 1;

  Impl(ServerSettings s, Handler& h);
  void accept();
  void begin_stop();
};

namespace {

// The most a body read asks for at once, and the most read buffer an idle
// connection keeps.
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kKeptReadCapacity = 16 * 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& server)
      : stream_(std::move(socket)), server_(server) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

  // Closes the connection when it is waiting for a request (not mid-answer).
  void close_if_idle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.socket().close(ec);
      }
    });
  }

 private:
  void read_header() {
    // A connection that once carried a large body keeps no large buffer
    // while it waits.
    if (buffer_.size() == 0 && buffer_.capacity() > kKeptReadCapacity) buffer_.shrink_to_fit();
    parser_.emplace();
    parser_->header_limit(server_.settings.header_limit);
    parser_->body_limit(server_.settings.body_limit);
    idle_ = true;
    if (server_.stopping.load()) return finish();
    stream_.expires_after(first_ ? server_.settings.read_timeout : server_.settings.idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(beast::error_code ec) {
    first_ = false;
    idle_ = false;
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || ec == asio::error::bad_descriptor) {
      return finish();
    }
    request_.started = std::chrono::steady_clock::now();
    if (ec == bhttp::error::body_limit) {
      // Beast checks Content-Length against the limit while parsing the header.
      return reject(413, "body is over the limit of " + std::to_string(server_.settings.body_limit) + " bytes");
    }
    if (ec) {
      const int status = ec == bhttp::error::header_limit ? 431 : 400;
      return reject(status, status == 431 ? "request headers are too large"
                                          : "malformed HTTP request: " + ec.message());
    }
    const auto& header = parser_->get();
    const auto length = parser_->content_length();
    if (length && *length > server_.settings.body_limit) {
      return reject(413, "body of " + std::to_string(*length) + " bytes is over the limit of " +
                             std::to_string(server_.settings.body_limit) + " bytes");
    }
    const bool has_body_method = header.method() == bhttp::verb::post || header.method() == bhttp::verb::put ||
                                 header.method() == bhttp::verb::patch;
    if (has_body_method && !length && !parser_->chunked()) {
      return reject(411, "a Content-Length header (or chunked encoding) is required");
    }
    if (bhttp::token_list(header[bhttp::field::expect]).exists("100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      bhttp::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code wec, std::size_t) {
        if (wec) return self->finish();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    // A webhook usually arrives in one piece with its header: parse what is
    // already buffered in place, and start an asynchronous read only for the rest.
    beast::error_code ec;
    parser_->eager(true);
    while (!parser_->is_done() && buffer_.size() > 0) {
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;
      }
      if (ec || used == 0) break;
    }
    if (ec || parser_->is_done()) return on_body(ec);
    // Beast reads as much as the buffer has room for, and at least 512
    // bytes: a new buffer would take a 7 KB body in 512-byte reads, one
    // system call each. Room for the rest of the body (up to a bound) reads
    // it at once, and the room stays for the next request on the
    // connection, whose header read then takes header and body together.
    const auto length = parser_->content_length_remaining();
    const std::size_t rest = length ? static_cast<std::size_t>(*length) : kReadChunk;
    buffer_.reserve(buffer_.size() + std::min(rest, kReadChunk));
    stream_.expires_after(server_.settings.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return reject(413, "body is over the limit of " + std::to_string(server_.settings.body_limit) + " bytes");
    }
    if (ec == beast::error::timeout) return reject(408, "the request body did not arrive in time");
    if (ec) {
      if (ec == bhttp::error::partial_message || ec == asio::error::eof || ec == asio::error::connection_reset) {
        return finish();
      }
      return reject(400, "malformed HTTP request: " + ec.message());
    }
    stream_.expires_never();
    auto message = parser_->release();
    request_.method = std::string(message.method_string());
    request_.target = std::string(message.target());
    const auto q = request_.target.find('?');
    request_.path = request_.target.substr(0, q);
    request_.query = q == std::string::npos ? std::string() : request_.target.substr(q + 1);
    request_.headers.clear();
    for (const auto& field : message) {
      request_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    const auto rid = message["X-Request-Id"];
    request_.request_id = rid.empty() || rid.size() > 128 ? new_request_id() : std::string(rid);
    request_.body = std::move(message.body());
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    head_ = message.method() == bhttp::verb::head;

    server_.in_flight.fetch_add(1);
    auto self = shared_from_this();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    // A request waiting for its handler (a Kafka acknowledgement, say) holds
    // no asio operation: this keeps the threads running until it is answered.
    auto work = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
        server_.ioc.get_executor());
    Request req = std::move(request_);
    request_ = Request{};
    request_.started = req.started;
    try {
      server_.handler.handle(std::move(req), [self, answered, work](Response response) {
        if (answered->exchange(true)) return;  // a second answer is a bug; keep the first
        asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
          self->server_.in_flight.fetch_sub(1);
          self->write(std::move(response), false);
        });
        work->reset();  // the posted write is work of its own
      });
    } catch (const std::exception& e) {
      log::error("handler threw", {{"error", e.what()}});
      if (!answered->exchange(true)) {
        server_.in_flight.fetch_sub(1);
        work->reset();
        write(json_error(500, "internal error"), false);
      }
    }
  }

  void reject(int status, std::string message) {
    Request partial;
    if (parser_ && parser_->is_header_done()) {
      const auto& h = parser_->get();
      partial.method = std::string(h.method_string());
      partial.target = std::string(h.target());
      partial.path = partial.target.substr(0, partial.target.find('?'));
    }
    partial.request_id = new_request_id();
    partial.started = request_.started;
    server_.handler.on_rejected(partial, status, message);
    write(json_error(status, message), true);
  }

  void write(Response response, bool close) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(version_);
    res->result(static_cast<unsigned>(response.status));
    res->set(bhttp::field::server, server_.settings.server_name);
    res->set(bhttp::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) res->set(name, value);
    close_ = close || !keep_alive_ || server_.stopping.load();
    res->keep_alive(!close_);
    if (head_) {
      // The length a GET would have, and no body: bytes after the header
      // would be read as the start of the next answer.
      res->content_length(response.body.size());
      head_ = false;
    } else {
      res->body() = std::move(response.body);
      res->prepare_payload();
    }
    stream_.expires_after(server_.settings.read_timeout);
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec) return self->finish();
      if (self->close_) return self->linger_close();
      self->read_header();
    });
  }

  // Closing with unread request bytes makes the kernel send a reset, and the
  // client may then lose the answer (a 413 while it is still uploading). So:
  // stop sending, read and drop what still comes for a little while, close.
  void linger_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return finish();
    stream_.expires_after(std::chrono::seconds(2));
    drain_remaining(0);
  }

  void drain_remaining(std::size_t drained) {
    static constexpr std::size_t kMaxDrain = 4 * 1024 * 1024;
    auto scratch = std::make_shared<std::array<char, 16384>>();
    stream_.async_read_some(asio::buffer(*scratch), [self = shared_from_this(), scratch, drained](
                                                        beast::error_code ec, std::size_t n) {
      if (ec || drained + n > kMaxDrain) return self->finish();
      self->drain_remaining(drained + n);
    });
  }

  void finish() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
    idle_ = false;
    std::lock_guard lock(server_.sessions_mutex);
    server_.sessions.erase(shared_from_this());
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  bool keep_alive_ = true;
  bool close_ = false;
  bool first_ = true;
  bool idle_ = false;
  bool head_ = false;
  unsigned version_ = 11;
};

std::pair<std::string, unsigned short> split_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("listen address must be host:port: " + listen);
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  return {host, static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))};
}

}  // namespace

Server::Impl::Impl(ServerSettings s, Handler& h)
    : settings(std::move(s)), handler(h), ioc(), acceptor(asio::make_strand(ioc)) {
  thread_count = settings.threads > 0 ? settings.threads
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const auto [host, port] = split_listen(settings.listen);
  tcp::endpoint endpoint(asio::ip::make_address(host), port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

void Server::Impl::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      // Out of descriptors (EMFILE) and the like: wait instead of spinning.
      log::warn("accept failed; retrying in 100 ms", {{"error", ec.message()}});
      auto timer = std::make_shared<asio::steady_timer>(acceptor.get_executor(), std::chrono::milliseconds(100));
      timer->async_wait([this, timer](beast::error_code) {
        if (!stopping.load()) accept();
      });
      return;
    } else if (!stopping.load()) {
      beast::error_code opt_ec;
      socket.set_option(tcp::no_delay(true), opt_ec);
      auto session = std::make_shared<Session>(std::move(socket), *this);
      {
        std::lock_guard lock(sessions_mutex);
        sessions.insert(session);
      }
      session->start();
    }
    if (!stopping.load()) accept();
  });
}

void Server::Impl::begin_stop() {
  if (stopping.exchange(true)) return;
  asio::post(acceptor.get_executor(), [this] {
    beast::error_code ec;
    acceptor.close(ec);
    std::vector<std::shared_ptr<Session>> current;
    {
      std::lock_guard lock(sessions_mutex);
      current.assign(sessions.begin(), sessions.end());
    }
    for (auto& s : current) s->close_if_idle();
    // Requests still being read hold their read; requests waiting for an
    // answer hold their own work guard. run() returns when both are done.
    guard.reset();
  });
}

Server::Server(ServerSettings settings, Handler& handler)
    : impl_(std::make_unique<Impl>(std::move(settings), handler)) {}

Server::~Server() = default;

unsigned short Server::port() const { return impl_->acceptor.local_endpoint().port(); }

void Server::run() {
  impl_->guard.emplace(impl_->ioc.get_executor());
  impl_->accept();
  std::vector<std::thread> threads;
  for (int i = 1; i < impl_->thread_count; ++i) threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
}

void Server::stop() { impl_->begin_stop(); }

boost::asio::io_context& Server::context() { return impl_->ioc; }

std::size_t Server::in_flight() const { return impl_->in_flight.load(); }

}  // namespace fourkeys::http
