// tls in lint: its options and files checked as the server checks them, ACME and a tls:// block
// without a certificate reported at their place.
#include <filesystem>

#include "lint/test_util.hpp"
#include "tests/support/readme_blocks.hpp"
#include "tests/support/tls.hpp"

namespace moat::lint::testing {
namespace {

// The file names the README's examples use, made by the test PKI.
void writeReadmeFiles(const TempDir& dir) {
  moat::testing::TestPki pki(dir);
  namespace fs = std::filesystem;
  fs::copy_file(pki.serverCert(), dir.path() + "/cert.pem");
  fs::copy_file(pki.serverKey(), dir.path() + "/key.pem");
  dir.write("hosts.txt", "192.0.2.1 www.example.org\n");
}

TEST_CASE("tls: the README's Corefiles lint without errors") {
  TempDir dir;
  writeReadmeFiles(dir);
  const auto examples = moat::testing::pluginCorefiles("tls");
  REQUIRE(examples.size() == 2);
  for (const auto& block : examples) {
    auto findings = lintText(dir, moat::testing::joined(block));
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "config/invalid"));
    CHECK_FALSE(hasRule(findings, "option/unknown"));
    CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
  }
}

TEST_CASE("tls: a typo, ACME, a file that does not load and a block without tls, each at its place") {
  TempDir dir;
  writeReadmeFiles(dir);
  auto typo = withRule(lintText(dir, "tls://. {\n  tls cert.pem key.pem {\n    keylg x\n  }\n  whoami\n}\n"),
                       "option/unknown");
  REQUIRE(typo.size() == 1);
  CHECK(typo[0].pos.line == 3);
  CHECK(typo[0].message.find("did you mean 'keylog'") != std::string::npos);

  auto acme = withRule(lintText(dir, "tls://. {\n  tls {\n    acme dns.example.org\n  }\n  whoami\n}\n"),
                       "config/invalid");
  REQUIRE(acme.size() == 1);
  CHECK(acme[0].pos.line == 3);
  CHECK(acme[0].message.find("(ACME) are not implemented by Moat") != std::string::npos);

  auto missing = withRule(lintText(dir, "tls://. {\n  tls nothere.pem key.pem\n  whoami\n}\n"), "config/invalid");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].pos.line == 2);
  CHECK(missing[0].message.find("nothere.pem") != std::string::npos);

  auto clash = withRule(lintText(dir, ".:8853 {\n  whoami\n}\ntls://example.org:8853 {\n  tls cert.pem key.pem\n  whoami\n}\n"),
                        "config/invalid");
  REQUIRE(clash.size() == 1);
  CHECK(clash[0].pos.line == 4);
  CHECK(clash[0].message.find("which dns://. (at ") != std::string::npos);

  auto bare = withRule(lintText(dir, ". tls://.:8853 {\n  whoami\n}\n"), "config/invalid");
  REQUIRE(bare.size() == 1);
  CHECK(bare[0].pos.line == 1);
  CHECK(bare[0].pos.col == 3);
}

}  // namespace
}  // namespace moat::lint::testing
