#include "dns/tls_context.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstring>

namespace moat::dns {
namespace ssl = boost::asio::ssl;
namespace {

// OpenSSL's reason for the last failure ("no such file", "key values mismatch"), its queue
// cleared so the next operation starts clean.
std::string lastError() {
  const unsigned long e = ERR_peek_error();  // the first: the cause, not its consequences
  ERR_clear_error();
  if (e == 0) return "unknown error";
  if (ERR_SYSTEM_ERROR(e)) return std::strerror(ERR_GET_REASON(e));  // "No such file or directory"
  const char* reason = ERR_reason_error_string(e);
  return reason != nullptr ? reason : "error " + std::to_string(e);
}

bool loadChain(SSL_CTX* ctx, const TlsFiles& f, std::string& error) {
  if (SSL_CTX_use_certificate_chain_file(ctx, f.cert.c_str()) != 1) {
    error = "cannot load certificate " + f.cert + ": " + lastError();
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, f.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = "cannot load key " + f.key + ": " + lastError();
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = "key " + f.key + " does not match certificate " + f.cert + ": " + lastError();
    return false;
  }
  return true;
}

bool loadCa(SSL_CTX* ctx, const std::string& ca, std::string& error) {
  if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1) {
    error = "cannot load CA " + ca + ": " + lastError();
    return false;
  }
  return true;
}

std::shared_ptr<ssl::context> newContext(ssl::context::method m) {
  auto ctx = std::make_shared<ssl::context>(m);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  return ctx;
}

// Request/Require in CoreDNS (Go's RequestClientCert, RequireAnyClientCert) ask for a
// certificate without judging it.
int acceptAny(int, X509_STORE_CTX*) { return 1; }

}  // namespace

std::shared_ptr<ssl::context> makeClientTlsContext(const TlsFiles& files, std::string& error) {
  auto ctx = newContext(ssl::context::tls_client);
  SSL_CTX* raw = ctx->native_handle();
  if (!files.cert.empty() && !loadChain(raw, files, error)) return nullptr;
  if (!files.ca.empty()) {
    if (!loadCa(raw, files.ca, error)) return nullptr;
  } else if (SSL_CTX_set_default_verify_paths(raw) != 1) {
    error = "cannot load the system's CA certificates: " + lastError();
    return nullptr;
  }
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  // Sessions are kept by the caller (one per upstream), not in OpenSSL's cache.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  return ctx;
}

std::shared_ptr<ssl::context> makeServerTlsContext(const TlsFiles& files, ClientAuth auth,
                                                   std::string& error) {
  auto ctx = newContext(ssl::context::tls_server);
  SSL_CTX* raw = ctx->native_handle();
  if (!loadChain(raw, files, error)) return nullptr;
  if (!files.ca.empty()) {
    if (!loadCa(raw, files.ca, error)) return nullptr;
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(raw, names);
  }
  switch (auth) {
    case ClientAuth::NoCert:
      SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::Request:
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, acceptAny);
      break;
    case ClientAuth::Require:
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, acceptAny);
      break;
    case ClientAuth::VerifyIfGiven:
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuth::RequireAndVerify:
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  // Resumption by ticket, so a reconnecting client skips the full handshake.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_SERVER);
  return ctx;
}

bool tlsVerifyName(void* handle, const std::string& name) {
  SSL* ssl = static_cast<SSL*>(handle);
  in6_addr a6;
  in_addr a4;
  const bool isIp = inet_pton(AF_INET, name.c_str(), &a4) == 1 || inet_pton(AF_INET6, name.c_str(), &a6) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (isIp) return X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1;
  // SNI carries host names only (RFC 6066), never an address.
  if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) return false;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size()) == 1;
}

}  // namespace moat::dns
