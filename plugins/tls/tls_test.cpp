#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "plugins/tls/tls.hpp"
#include "tests/support/plugin_test_util.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/tls.hpp"

namespace moat::plugins::tls {
namespace {

using moat::testing::stanzasOf;

conf::Result<TlsConfig> parse(const std::string& corefile, const std::string& baseDir = "/etc/moat") {
  auto p = stanzasOf(corefile, "tls");
  REQUIRE(p.stanzas.size() == 1);
  return parseTls(*p.stanzas.front(), baseDir);
}

std::string errorOf(const std::string& corefile) {
  auto r = parse(corefile);
  REQUIRE_FALSE(r.ok());
  return r.error().str();
}

TEST_CASE("tls CERT KEY [CA]: paths anchored on the Corefile's directory, no client certificate by default") {
  auto two = parse("tls://. {\n  tls cert.pem /keys/key.pem\n}\n");
  REQUIRE(two.ok());
  CHECK(two->files.cert == "/etc/moat/cert.pem");
  CHECK(two->files.key == "/keys/key.pem");
  CHECK(two->files.ca.empty());
  CHECK(two->clientAuth == dns::ClientAuth::NoCert);
  CHECK(two->keylog.empty());
  CHECK(two->at.pos.str() == "Corefile:2:3");

  auto three = parse("tls://. {\n  tls cert.pem key.pem ca/ca.pem\n}\n");
  REQUIRE(three.ok());
  CHECK(three->files.ca == "/etc/moat/ca/ca.pem");
}

TEST_CASE("tls options: the five client_auth values and keylog") {
  const std::pair<const char*, dns::ClientAuth> modes[] = {
      {"nocert", dns::ClientAuth::NoCert},
      {"request", dns::ClientAuth::Request},
      {"require", dns::ClientAuth::Require},
      {"verify_if_given", dns::ClientAuth::VerifyIfGiven},
      {"require_and_verify", dns::ClientAuth::RequireAndVerify},
  };
  for (const auto& mode : modes) {
    const std::string text = mode.first;
    CAPTURE(text);
    auto r = parse("tls://. {\n  tls c k ca {\n    client_auth " + text + "\n  }\n}\n");
    REQUIRE(r.ok());
    CHECK(r->clientAuth == mode.second);
  }
  auto keylog = parse("tls://. {\n  tls c k {\n    keylog secrets.log\n  }\n}\n");
  REQUIRE(keylog.ok());
  CHECK(keylog->keylog == "/etc/moat/secrets.log");
}

TEST_CASE("tls errors at their place: arguments, options, client_auth values") {
  CHECK(errorOf("tls://. {\n  tls cert.pem\n}\n").rfind("Corefile:2:3: tls:", 0) == 0);
  CHECK(errorOf("tls://. {\n  tls a b c d\n}\n").rfind("Corefile:2:13: tls:", 0) == 0);
  const std::string option = errorOf("tls://. {\n  tls c k {\n    client_aut request\n  }\n}\n");
  CHECK(option.rfind("Corefile:3:5: tls: unknown option 'client_aut'", 0) == 0);
  CHECK(option.find("did you mean 'client_auth'") != std::string::npos);
  const std::string mode = errorOf("tls://. {\n  tls c k {\n    client_auth requier\n  }\n}\n");
  CHECK(mode.rfind("Corefile:3:17: tls: unknown client_auth 'requier'", 0) == 0);
  CHECK(mode.find("did you mean 'require'") != std::string::npos);
  CHECK(errorOf("tls://. {\n  tls c k {\n    client_auth\n  }\n}\n").rfind("Corefile:3:5: tls:", 0) == 0);
  CHECK(errorOf("tls://. {\n  tls c k {\n    keylog a b\n  }\n}\n").rfind("Corefile:3:14: tls:", 0) == 0);
}

TEST_CASE("ACME is refused with a message that says so, at the option or the bare directive") {
  const std::string acme = errorOf("tls://.:853 {\n  tls {\n    acme dns.example.org\n    email a@example.org\n  }\n}\n");
  CHECK(acme.rfind("Corefile:3:5: tls: automatic certificates (ACME) are not implemented by Moat", 0) == 0);
  CHECK(errorOf("tls://. {\n  tls\n}\n").rfind("Corefile:2:3: tls: automatic certificates (ACME)", 0) == 0);
  // An ACME option under a manual certificate is the same mistake.
  CHECK(errorOf("tls://. {\n  tls c k {\n    email a@example.org\n  }\n}\n").find("(ACME)") != std::string::npos);
}

TEST_CASE("loadTls: a certificate or key that does not load is an error at the directive, naming the file") {
  moat::testing::TempDir dir;
  moat::testing::TestPki pki(dir);
  auto good = parse("tls://. {\n  tls server.pem server.key ca.pem\n}\n", dir.path());
  REQUIRE(good.ok());
  auto ctx = loadTls(*good, false);
  REQUIRE_MESSAGE(ctx.ok(), (ctx.ok() ? "" : ctx.error().str()));
  CHECK(*ctx != nullptr);

  auto missing = parse("tls://. {\n  tls nothere.pem server.key\n}\n", dir.path());
  REQUIRE(missing.ok());
  auto failed = loadTls(*missing, false);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().str().rfind("Corefile:2:3: tls: cannot load certificate " + dir.path() + "/nothere.pem", 0) == 0);

  // The client's key with the server's certificate: they do not match.
  auto mismatch = parse("tls://. {\n  tls server.pem client.key\n}\n", dir.path());
  REQUIRE(mismatch.ok());
  auto refused = loadTls(*mismatch, false);
  REQUIRE_FALSE(refused.ok());
  CAPTURE(refused.error().message);
  CHECK(refused.error().message.find("client.key: key values mismatch") != std::string::npos);
}

TEST_CASE("keylog: opened only when serving, owner-only, lines written by handshakes go there") {
  moat::testing::TempDir dir;
  moat::testing::TestPki pki(dir);
  auto cfg = parse("tls://. {\n  tls server.pem server.key {\n    keylog keys.log\n  }\n}\n", dir.path());
  REQUIRE(cfg.ok());
  REQUIRE(loadTls(*cfg, false).ok());
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/keys.log"));  // lint leaves no file behind
  auto ctx = loadTls(*cfg, true);
  REQUIRE(ctx.ok());
  struct stat st {};
  REQUIRE(::stat((dir.path() + "/keys.log").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto unwritable = parse("tls://. {\n  tls server.pem server.key {\n    keylog no/such/dir/keys.log\n  }\n}\n", dir.path());
  REQUIRE(unwritable.ok());
  auto failed = loadTls(*unwritable, true);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().str().find("Corefile:2:3: tls: unable to write the TLS key log") == 0);
}

TEST_CASE("missingCertificate: a tls:// key needs a tls directive in its block") {
  auto check = [](const std::string& corefile) {
    auto cf = conf::parseCorefile(corefile, "Corefile");
    REQUIRE(cf.ok());
    std::vector<conf::ServerKey> keys;
    for (const conf::Token& k : cf->blocks[0].keys) {
      auto parsed = conf::parseServerKey(k, 53);
      REQUIRE(parsed.ok());
      keys.insert(keys.end(), parsed->begin(), parsed->end());
    }
    auto d = missingCertificate(cf->blocks[0], keys);
    return d ? d->str() : std::string();
  };
  CHECK(check("example.org tls://.:8853 {\n  whoami\n}\n").rfind("Corefile:1:13: a tls:// server block needs", 0) == 0);
  CHECK(check("tls://. {\n  tls c k\n  whoami\n}\n").empty());
  CHECK(check(". {\n  whoami\n}\n").empty());
}

}  // namespace
}  // namespace moat::plugins::tls
