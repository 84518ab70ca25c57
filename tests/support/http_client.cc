#include "tests/support/http_client.h"

#include "tests/support/process.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <fstream>
#include <mutex>
#include <unistd.h>

namespace fourkeys::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// Every answer a test gets is appended to the suite's answers file, which
// secrets_not_leaked searches for configured secrets after the run.
void record_answer(const HttpReply& reply) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::ofstream out(test_log_dir() + "/answers-" + std::to_string(::getpid()) + ".txt", std::ios::app);
  out << "HTTP " << reply.status << "\n";
  for (const auto& [name, value] : reply.headers) out << name << ": " << value << "\n";
  out << "\n" << reply.body << "\n\n";
}

}  // namespace

using tcp = asio::ip::tcp;

std::string HttpReply::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size()) {
      bool eq = true;
      for (std::size_t i = 0; i < k.size(); ++i) {
        eq = eq && std::tolower(static_cast<unsigned char>(k[i])) == std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (eq) return v;
    }
  }
  return {};
}

struct HttpClient::Impl {
  std::string host;
  unsigned short port;
  asio::io_context ioc;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  void connect() {
    stream = std::make_unique<beast::tcp_stream>(ioc);
    tcp::resolver resolver(ioc);
    stream->connect(resolver.resolve(host, std::to_string(port)));
    buffer.clear();
  }

  HttpReply read_reply() {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    bhttp::read(*stream, buffer, parser);
    auto res = parser.release();
    HttpReply reply;
    reply.status = static_cast<int>(res.result_int());
    for (const auto& f : res) reply.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    reply.body = res.body();
    if (!res.keep_alive()) stream.reset();
    record_answer(reply);
    return reply;
  }
};

HttpClient::HttpClient(std::string host, unsigned short port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

HttpClient::~HttpClient() = default;

HttpReply HttpClient::request(const std::string& method, const std::string& target,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              const std::string& body) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = !impl_->stream;
    if (fresh) impl_->connect();
    bhttp::request<bhttp::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(bhttp::field::host, impl_->host);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    if (method == "POST" || method == "PUT") req.content_length(body.size());
    beast::error_code ec;
    bhttp::write(*impl_->stream, req, ec);
    if (!ec) {
      try {
        return impl_->read_reply();
      } catch (const beast::system_error&) {
        if (fresh) throw;
      }
    } else if (fresh) {
      throw beast::system_error(ec);
    }
    impl_->stream.reset();  // the kept-alive connection was closed by the server: retry once
  }
  throw std::runtime_error("request failed");
}

HttpReply HttpClient::request_header_only(const std::string& method, const std::string& target,
                                          const std::vector<std::pair<std::string, std::string>>& headers,
                                          std::size_t content_length) {
  impl_->connect();
  std::string head = method + " " + target + " HTTP/1.1\r\nHost: " + impl_->host + "\r\n";
  for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
  if (content_length != kNoLength) head += "Content-Length: " + std::to_string(content_length) + "\r\n";
  head += "\r\n";
  asio::write(impl_->stream->socket(), asio::buffer(head));
  auto reply = impl_->read_reply();
  impl_->stream.reset();
  return reply;
}

}  // namespace fourkeys::testing
