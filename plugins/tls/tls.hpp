// `tls CERT KEY [CA] { client_auth MODE; keylog FILE }`: the certificate a server block's
// tls:// listener presents, as CoreDNS's tls. It has no handler: the runtime asks for the
// block's OpenSSL context with serverContext() and gives it to the listener. The files are
// read on every load and reload, so a reload picks up renewed certificates; a file that does
// not load is an error at the directive, and a reload then keeps the running configuration.
// ACME (certificates obtained automatically) is not implemented: written, it is an error.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "conf/zone.hpp"
#include "dns/tls_context.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::tls {

struct TlsConfig {
  dns::TlsFiles files;                              // paths made absolute against the Corefile's directory
  dns::ClientAuth clientAuth = dns::ClientAuth::NoCert;
  std::string keylog;                               // "" = no key log
  conf::Token at;                                   // the `tls` directive, where load errors point
};

// Pure: one `tls` stanza to its config, or a positioned error. `baseDir` anchors relative paths.
conf::Result<TlsConfig> parseTls(const conf::Directive& stanza, const std::string& baseDir);

// Reads the files. With `openKeylog`, the key log file is opened (appended to) and every
// handshake's secrets are written to it; lint leaves it closed.
conf::Result<std::shared_ptr<boost::asio::ssl::context>> loadTls(const TlsConfig& config, bool openKeylog);

// The context of a block's `tls` stanzas (at most one: the plugin is once per block), nullptr
// when the block has none.
conf::Result<std::shared_ptr<boost::asio::ssl::context>> serverContext(
    const std::vector<const conf::Directive*>& stanzas, const std::string& baseDir);

// A tls:// key in a block without a `tls` directive: nothing to serve it with, an error at the
// key as in CoreDNS. nullopt when every tls:// key has its certificate.
std::optional<conf::Diag> missingCertificate(const conf::ServerBlock& block, const std::vector<conf::ServerKey>& keys);

// Validates the stanza and loads its files; returns no handler.
conf::Result<HandlerPtr> setupTls(const SetupContext& ctx);

}  // namespace moat::plugins::tls
