// OpenSSL contexts made from the files a Corefile names, with an error a person can act on when
// a file does not load. Shared by both ends: forward's tls:// upstreams (client) and the tls
// plugin's DoT/DoH listeners (server). Certificate checking is never optional on the client.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace moat::dns {

struct TlsFiles {
  std::string cert;  // PEM certificate (chain); with `key`, this end's identity
  std::string key;   // PEM private key
  std::string ca;    // PEM CA bundle to verify the peer with; "" = the system's roots
};

// A client context: TLS 1.2 or newer, the peer's chain always verified (against `files.ca`, or
// the system's roots, which honour SSL_CERT_FILE / SSL_CERT_DIR), the client certificate and
// key sent when given. The peer's name is checked per connection (tlsVerifyName). nullptr and
// `error` set when a file does not load.
std::shared_ptr<boost::asio::ssl::context> makeClientTlsContext(const TlsFiles& files, std::string& error);

// How a server treats client certificates (CoreDNS's client_auth values).
enum class ClientAuth { NoCert, Request, Require, VerifyIfGiven, RequireAndVerify };

// A server context: TLS 1.2 or newer, `files.cert`/`files.key` (both required, and matching),
// client certificates as `auth` says, checked against `files.ca` when verification is asked for.
std::shared_ptr<boost::asio::ssl::context> makeServerTlsContext(const TlsFiles& files, ClientAuth auth,
                                                                std::string& error);

// Makes the handshake on `ssl` (an SSL* of a client stream) send `name` as SNI and require it
// in the peer's certificate (a DNS name, or an IP address written as one). false on a name
// OpenSSL refuses.
bool tlsVerifyName(void* ssl, const std::string& name);

}  // namespace moat::dns
