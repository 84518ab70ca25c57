#include "tools/backfill/http_get.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace fourkeys::backfill {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

bool parse_endpoint(const std::string& url, Endpoint& endpoint, std::string& error) {
  const auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    error = "not an absolute URL: " + url;
    return false;
  }
  const auto& u = *parsed;
  const std::string scheme(u.scheme());
  if (scheme != "http" && scheme != "https") {
    error = "the API URL must be http:// or https://, not " + scheme + "://";
    return false;
  }
  if (u.has_userinfo() || u.has_query() || u.has_fragment()) {
    error = "the API URL takes no user info, query or fragment";
    return false;
  }
  Endpoint e;
  e.tls = scheme == "https";
  e.host = std::string(u.host_address());
  if (e.host.empty()) {
    error = "the API URL has no host";
    return false;
  }
  e.port = u.has_port() ? std::string(u.port()) : (e.tls ? "443" : "80");
  e.base_path = std::string(u.encoded_path());
  while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  endpoint = std::move(e);
  return true;
}

struct HttpGetter::Impl {
  Endpoint endpoint;
  std::chrono::milliseconds timeout;
  std::size_t body_limit;
  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  std::string host_header;

  Impl(Endpoint e, std::chrono::milliseconds t, std::size_t limit)
      : endpoint(std::move(e)), timeout(t), body_limit(limit) {
    tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
    const bool default_port = endpoint.port == (endpoint.tls ? "443" : "80");
    const bool ipv6 = endpoint.host.find(':') != std::string::npos;
    host_header = ipv6 ? "[" + endpoint.host + "]" : endpoint.host;
    if (!default_port) host_header += ":" + endpoint.port;
  }

  bhttp::request<bhttp::empty_body> request(const std::string& target,
                                            const std::vector<std::pair<std::string, std::string>>& headers) const {
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, host_header);
    req.set(bhttp::field::connection, "close");
    for (const auto& [name, value] : headers) req.set(name, value);
    return req;
  }

  template <typename Stream>
  HttpAnswer exchange(Stream& stream, const bhttp::request<bhttp::empty_body>& req) {
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(body_limit);
    bhttp::read(stream, buffer, parser);
    auto& res = parser.get();
    HttpAnswer answer;
    answer.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      answer.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    answer.body = std::move(res.body());
    return answer;
  }

  HttpAnswer get(const std::string& target, const std::vector<std::pair<std::string, std::string>>& headers) {
    tcp::resolver resolver(io);
    const auto addresses = resolver.resolve(endpoint.host, endpoint.port);
    const auto req = request(target, headers);
    if (!endpoint.tls) {
      beast::tcp_stream stream(io);
      stream.expires_after(timeout);
      stream.connect(addresses);
      HttpAnswer answer = exchange(stream, req);
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return answer;
    }
    beast::ssl_stream<beast::tcp_stream> stream(io, tls);
    // SNI, or servers behind a shared address present the wrong certificate
    // (an address literal is not a server name).
    beast::error_code not_an_address;
    asio::ip::make_address(endpoint.host, not_an_address);
    if (not_an_address && !SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str())) {
      throw std::runtime_error("cannot set the TLS server name");
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(endpoint.host));
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).connect(addresses);
    beast::error_code handshake_error;
    stream.handshake(asio::ssl::stream_base::client, handshake_error);
    if (handshake_error) {
      const std::string where = endpoint.host + ":" + endpoint.port + ": ";
      if (handshake_error.category() == asio::error::get_ssl_category() &&
          ERR_GET_REASON(static_cast<unsigned long>(handshake_error.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        const long result = SSL_get_verify_result(stream.native_handle());
        throw PermanentHttpError(where + "the server's TLS certificate did not verify for " + endpoint.host +
                                 " (" + X509_verify_cert_error_string(result) + ")");
      }
      throw std::runtime_error(where + "TLS handshake failed: " + handshake_error.message());
    }
    HttpAnswer answer = exchange(stream, req);
    // Servers often drop the connection without a TLS close_notify; the
    // answer is complete by then, so a failed shutdown changes nothing.
    beast::error_code ignored;
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    stream.shutdown(ignored);
    return answer;
  }
};

HttpGetter::HttpGetter(Endpoint endpoint, std::chrono::milliseconds timeout, std::size_t body_limit)
    : impl_(std::make_unique<Impl>(std::move(endpoint), timeout, body_limit)) {}

HttpGetter::~HttpGetter() = default;

HttpAnswer HttpGetter::get(const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& headers) {
  try {
    return impl_->get(target, headers);
  } catch (const beast::system_error& e) {
    throw std::runtime_error(impl_->endpoint.host + ":" + impl_->endpoint.port + ": " + e.code().message());
  }
}

}  // namespace fourkeys::backfill
