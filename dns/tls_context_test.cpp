#include "dns/tls_context.hpp"

#include <doctest/doctest.h>

#include "tests/support/tls.hpp"

using namespace moat;

TEST_CASE("TLS contexts load the test PKI, and name the file that does not load") {
  testing::TempDir dir;
  testing::TestPki pki(dir);
  std::string error;
  CHECK(dns::makeClientTlsContext({.ca = pki.ca()}, error) != nullptr);
  CHECK(dns::makeClientTlsContext({}, error) != nullptr);  // the system's roots
  CHECK(dns::makeClientTlsContext({pki.clientCert(), pki.clientKey(), pki.ca()}, error) != nullptr);
  CHECK(dns::makeServerTlsContext({pki.serverCert(), pki.serverKey(), ""}, dns::ClientAuth::NoCert,
                                  error) != nullptr);
  CHECK(error.empty());

  CHECK(dns::makeClientTlsContext({.ca = dir.path() + "/missing.pem"}, error) == nullptr);
  CHECK(error.find("cannot load CA " + dir.path() + "/missing.pem") == 0);
  CHECK(dns::makeServerTlsContext({pki.serverCert(), pki.clientKey(), ""}, dns::ClientAuth::NoCert,
                                  error) == nullptr);
  CHECK(error.find("key values mismatch") != std::string::npos);
  CHECK(dns::makeServerTlsContext({pki.serverKey(), pki.serverKey(), ""}, dns::ClientAuth::NoCert,
                                  error) == nullptr);
  CHECK(error.find("cannot load certificate " + pki.serverKey()) == 0);
  CHECK(error.find("no start line") != std::string::npos);
  dns::makeClientTlsContext({.ca = dir.path() + "/missing.pem"}, error);
  CHECK(error.find("No such file or directory") != std::string::npos);
}
