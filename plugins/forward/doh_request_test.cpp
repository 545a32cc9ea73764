// What forward writes to a DoH upstream: RFC 8484's own example request, both methods.
#include "plugins/forward/doh_request.hpp"

#include <doctest/doctest.h>

#include <vector>

namespace moat::plugins::forward {
namespace {

// RFC 8484 section 4.1.1: www.example.com IN A, ID 0, RD.
const std::vector<uint8_t> kExample = {0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                       0x00, 0x03, 'w',  'w',  'w',  0x07, 'e',  'x',  'a',  'm',  'p',
                                       'l',  'e',  0x03, 'c',  'o',  'm',  0x00, 0x00, 0x01, 0x00, 0x01};

TEST_CASE("DoH requests: GET carries RFC 8484's example in base64url without padding, POST as the body") {
  std::string out;
  buildDohRequest(out, "dnsserver.example.net", kExample, true);
  CHECK(out ==
        "GET /dns-query?dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB HTTP/1.1\r\n"
        "Host: dnsserver.example.net\r\nAccept: application/dns-message\r\n\r\n");
  buildDohRequest(out, "dnsserver.example.net", kExample, false);
  const std::string head =
      "POST /dns-query HTTP/1.1\r\nContent-Type: application/dns-message\r\nContent-Length: 33\r\n"
      "Host: dnsserver.example.net\r\nAccept: application/dns-message\r\n\r\n";
  REQUIRE(out.size() == head.size() + kExample.size());
  CHECK(out.substr(0, head.size()) == head);
  CHECK(std::equal(kExample.begin(), kExample.end(), out.begin() + static_cast<std::ptrdiff_t>(head.size()),
                   [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); }));
}

TEST_CASE("DoH requests: base64url of every remainder length, RFC 4648's vectors in the URL alphabet") {
  auto encode = [](std::string_view text) {
    std::string out;
    appendBase64Url(out, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    return out;
  };
  CHECK(encode("") == "");
  CHECK(encode("f") == "Zg");
  CHECK(encode("fo") == "Zm8");
  CHECK(encode("foo") == "Zm9v");
  CHECK(encode("foob") == "Zm9vYg");
  CHECK(encode("\xfb\xff") == "-_8");  // the two characters base64url changes
}

TEST_CASE("DoH responses: the content type is application/dns-message, parameters and case aside") {
  CHECK(isDnsMessageType("application/dns-message"));
  CHECK(isDnsMessageType("Application/DNS-Message; charset=binary"));
  CHECK_FALSE(isDnsMessageType("application/dns-json"));
  CHECK_FALSE(isDnsMessageType("application/dns-messages"));
  CHECK_FALSE(isDnsMessageType("text/html"));
  CHECK_FALSE(isDnsMessageType(""));
}

}  // namespace
}  // namespace moat::plugins::forward
