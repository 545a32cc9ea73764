#include "plugins/tls/tls.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string_view>

#include <spdlog/spdlog.h>

#include "conf/args.hpp"

namespace moat::plugins::tls {
namespace {

namespace ssl = boost::asio::ssl;
constexpr std::string_view kPlugin = "tls";

// What CoreDNS's ACME form (`tls { acme ... }`) takes: recognised so that the error says what
// is missing rather than "unknown option".
constexpr std::string_view kAcmeOptions[] = {"acme", "email", "ca", "storage", "ca_root", "resolver"};

std::string absolute(const std::string& path, const std::string& baseDir) {
  std::filesystem::path p(path);
  if (p.is_relative() && !baseDir.empty()) p = std::filesystem::path(baseDir) / p;
  return p.lexically_normal().string();
}

conf::Diag acmeError(const conf::Token& at) {
  return conf::errorAt(at, kPlugin,
                       "automatic certificates (ACME) are not implemented by Moat; give the certificate "
                       "and key files: tls CERT KEY [CA]");
}

conf::Result<dns::ClientAuth> parseClientAuth(const conf::Token& arg) {
  const std::string& v = arg.text;
  if (v == "nocert") return dns::ClientAuth::NoCert;
  if (v == "request") return dns::ClientAuth::Request;
  if (v == "require") return dns::ClientAuth::Require;
  if (v == "verify_if_given") return dns::ClientAuth::VerifyIfGiven;
  if (v == "require_and_verify") return dns::ClientAuth::RequireAndVerify;
  std::string message = "unknown client_auth '" + v +
                        "': expected nocert, request, require, verify_if_given or require_and_verify";
  std::string guess = conf::didYouMean(v, {"nocert", "request", "require", "verify_if_given", "require_and_verify"});
  if (!guess.empty()) message += " (did you mean '" + guess + "'?)";
  return conf::errorAt(arg, kPlugin, message);
}

// The key log, shared by every connection of a context (and so by every worker thread). One
// line per secret, in the NSS key log format that Wireshark reads.
struct KeyLog {
  std::mutex mutex;
  std::FILE* file = nullptr;
  ~KeyLog() {
    if (file != nullptr) std::fclose(file);
  }
};

int keyLogIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void writeKeyLog(const SSL* ssl, const char* line) {
  auto* log = static_cast<KeyLog*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keyLogIndex()));
  if (log == nullptr) return;
  std::lock_guard<std::mutex> lock(log->mutex);
  std::fprintf(log->file, "%s\n", line);
  std::fflush(log->file);
}

}  // namespace

conf::Result<TlsConfig> parseTls(const conf::Directive& stanza, const std::string& baseDir) {
  TlsConfig cfg;
  cfg.at = stanza.name;
  if (stanza.args.empty()) {
    // CoreDNS's ACME form has no arguments on the line; its options are in the block.
    return acmeError(stanza.block.empty() ? stanza.name : stanza.block.front().name);
  }
  if (auto n = conf::expectArgs(stanza, kPlugin, 2, 3); !n) return n.error();
  cfg.files.cert = absolute(stanza.args[0].text, baseDir);
  cfg.files.key = absolute(stanza.args[1].text, baseDir);
  if (stanza.args.size() == 3) cfg.files.ca = absolute(stanza.args[2].text, baseDir);
  for (const conf::Directive& option : stanza.block) {
    const std::string& name = option.name.text;
    if (name == "client_auth") {
      if (auto n = conf::expectArgs(option, kPlugin, 1, 1); !n) return n.error();
      auto auth = parseClientAuth(option.args.front());
      if (!auth) return auth.error();
      cfg.clientAuth = *auth;
    } else if (name == "keylog") {
      if (auto n = conf::expectArgs(option, kPlugin, 1, 1); !n) return n.error();
      cfg.keylog = absolute(option.args.front().text, baseDir);
    } else if (std::find(std::begin(kAcmeOptions), std::end(kAcmeOptions), name) != std::end(kAcmeOptions)) {
      return acmeError(option.name);
    } else {
      return conf::unknownOption(option, kPlugin, {"client_auth", "keylog"});
    }
  }
  return cfg;
}

conf::Result<std::shared_ptr<ssl::context>> loadTls(const TlsConfig& config, bool openKeylog) {
  std::string error;
  auto ctx = dns::makeServerTlsContext(config.files, config.clientAuth, error);
  if (!ctx) return conf::errorAt(config.at, kPlugin, error);
  if (!openKeylog || config.keylog.empty()) return ctx;

  auto log = std::make_shared<KeyLog>();
  log->file = std::fopen(config.keylog.c_str(), "a");
  if (log->file == nullptr) {
    return conf::errorAt(config.at, kPlugin,
                         "unable to write the TLS key log to " + config.keylog + ": " + std::strerror(errno));
  }
  std::filesystem::permissions(config.keylog, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
  SSL_CTX_set_ex_data(ctx->native_handle(), keyLogIndex(), log.get());
  SSL_CTX_set_keylog_callback(ctx->native_handle(), writeKeyLog);
  spdlog::warn("plugin/tls: writing the TLS key log to {}: anyone who reads it can decrypt this server's traffic",
               config.keylog);
  // The context owns its key log: both go when the last listener and connection let go.
  struct Owner {
    std::shared_ptr<ssl::context> ctx;
    std::shared_ptr<KeyLog> log;
  };
  auto owner = std::make_shared<Owner>(Owner{ctx, std::move(log)});
  return std::shared_ptr<ssl::context>(owner, owner->ctx.get());
}

conf::Result<std::shared_ptr<ssl::context>> serverContext(const std::vector<const conf::Directive*>& stanzas,
                                                          const std::string& baseDir) {
  if (stanzas.empty()) return std::shared_ptr<ssl::context>{};
  auto cfg = parseTls(*stanzas.front(), baseDir);
  if (!cfg) return cfg.error();
  return loadTls(*cfg, true);
}

std::optional<conf::Diag> missingCertificate(const conf::ServerBlock& block, const std::vector<conf::ServerKey>& keys) {
  for (const conf::Directive& d : block.directives) {
    if (d.name.text == kPlugin) return std::nullopt;
  }
  for (const conf::ServerKey& key : keys) {
    if (key.scheme != "tls") continue;
    return conf::Diag{key.pos, "a tls:// server block needs a certificate: add `tls CERT KEY [CA]` to it"};
  }
  return std::nullopt;
}

conf::Result<HandlerPtr> setupTls(const SetupContext& ctx) {
  for (const conf::Directive* stanza : ctx.stanzas) {
    auto cfg = parseTls(*stanza, ctx.baseDir);
    if (!cfg) return cfg.error();
    auto loaded = loadTls(*cfg, false);
    if (!loaded) return loaded.error();
  }
  return HandlerPtr{};
}

}  // namespace moat::plugins::tls
