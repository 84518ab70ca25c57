// fourkeys-bench-bare: the benchmark's baseline. An async Boost.Beast
// HTTP/1.1 server in the style of Beast's http_server_async example that
// reads each request's whole body and answers 202 {"status":"accepted"},
// with keep-alive. No signature check, no JSON, no Kafka.
//
//   fourkeys-bench-bare [--listen host:port] [--threads N] [--read-buffer BYTES]
//
// --read-buffer gives each connection's read buffer that much room from the
// start. Without it (as in Beast's example) a new buffer grows only when a
// read needs more than it has, and Beast reads as much as there is room
// for, at least 512 bytes: a 7 KB request then takes about 16 reads, one
// system call each. With room for a whole request it takes one, as
// fourkeys-parser's own reads do.
//
// Port 0 picks a free port; the bound port is the first line on stdout.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint64_t kBodyLimit = 25 * 1024 * 1024;  // GitHub's cap, as the receiver

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::size_t read_buffer) : stream_(std::move(socket)) {
    if (read_buffer > 0) buffer_.reserve(read_buffer);
  }
  void run() { asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); }); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return close();  // end_of_stream, timeout, body too large: just close
    const auto& req = parser_->get();
    res_ = {http::status::accepted, req.version()};
    res_.set(http::field::content_type, "application/json");
    res_.keep_alive(req.keep_alive());
    res_.body() = R"({"status":"accepted"})";
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->res_.keep_alive()) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& ioc, tcp::endpoint ep, std::size_t read_buffer)
      : ioc_(ioc), acceptor_(asio::make_strand(ioc)), read_buffer_(read_buffer) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (!ec) {
        s.set_option(tcp::no_delay(true));
        std::make_shared<Session>(std::move(s), self->read_buffer_)->run();
      }
      self->accept();
    });
  }

 private:
  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::size_t read_buffer_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  int threads = 1;
  std::size_t read_buffer = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--listen" && i + 1 < argc) listen = argv[++i];
    else if (arg == "--threads" && i + 1 < argc) threads = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--read-buffer" && i + 1 < argc) read_buffer = std::strtoull(argv[++i], nullptr, 10);
    else {
      std::cerr << "usage: " << argv[0] << " [--listen host:port] [--threads N] [--read-buffer BYTES]\n";
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "--listen wants host:port\n";
    return 2;
  }
  try {
    asio::io_context ioc{threads};
    const tcp::endpoint ep{asio::ip::make_address(listen.substr(0, colon)),
                           static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))};
    auto listener = std::make_shared<Listener>(ioc, ep, read_buffer);
    std::cout << listener->port() << std::endl;
    listener->accept();

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) { ioc.stop(); });

    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
  } catch (const std::exception& e) {
    std::cerr << "fourkeys-bench-bare: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
