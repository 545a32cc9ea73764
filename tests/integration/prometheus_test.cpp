// /metrics served by the real binary: after three digs the CoreDNS series count them, with
// CoreDNS's labels.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace prometheus_test {

using namespace moat::testing;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& line) {
  return std::find(v.begin(), v.end(), line) != v.end();
}

}  // namespace

TEST_CASE("prometheus: /metrics counts dig queries with CoreDNS's labels") {
  TempDir dir;
  const uint16_t metricsPort = freePort();
  ServerProcess server(dir, ".:@PORT@ {\n"
                            "  bind 127.0.0.1\n"
                            "  prometheus 127.0.0.1:" + std::to_string(metricsPort) + "\n"
                            "  whoami\n"
                            "}\n");
  REQUIRE(server.running());
  for (const char* name : {"a.example.org", "b.example.org", "c.example.org"}) {
    std::string out = dig(server.port(), {name, "A"});
    REQUIRE_MESSAGE(out.find("status: NOERROR") != std::string::npos, out);
  }
  HttpReply r = httpGet(metricsPort, "/metrics");
  REQUIRE(r.status == 200);
  CAPTURE(r.body);
  auto text = lines(r.body);
  const std::string labels = "server=\"dns://127.0.0.1:" + std::to_string(server.port()) + "\",";
  CHECK(contains(text, "coredns_dns_requests_total{family=\"1\",proto=\"udp\"," + labels + "type=\"A\",view=\"\",zone=\".\"} 3"));
  CHECK(contains(text, "coredns_dns_request_duration_seconds_count{" + labels + "view=\"\",zone=\".\"} 3"));
  CHECK(contains(text, "coredns_dns_request_size_bytes_count{proto=\"udp\"," + labels + "view=\"\",zone=\".\"} 3"));
  CHECK(contains(text, "coredns_dns_response_size_bytes_count{proto=\"udp\"," + labels + "view=\"\",zone=\".\"} 3"));
  CHECK(contains(text, "coredns_plugin_enabled{name=\"whoami\"," + labels + "view=\"\",zone=\".\"} 1"));
  CHECK(contains(text, "coredns_build_info{goversion=\"\",revision=\"\",version=\"0.1.0\"} 1"));
  // The plugin label depends on the runner recording the writer (README.md); the count does not.
  size_t noerror = 0;
  for (const std::string& l : text) {
    if (l.rfind("coredns_dns_responses_total{", 0) == 0 && l.find("rcode=\"NOERROR\"") != std::string::npos) {
      noerror += std::stoul(l.substr(l.rfind(' ') + 1));
    }
  }
  CHECK(noerror == 3);
  // The plugin that wrote the answers (CoreDNS's "plugin" label).
  CHECK(contains(text, "coredns_dns_responses_total{plugin=\"whoami\",rcode=\"NOERROR\"," + labels + "view=\"\",zone=\".\"} 3"));
  CHECK(server.stop() == 0);
}

TEST_CASE("prometheus: private answers count in moat_private_blocked_total{server,zone}") {
  TempDir dir;
  const uint16_t metricsPort = freePort();
  ServerProcess server(dir, ".:@PORT@ {\n"
                            "  bind 127.0.0.1\n"
                            "  private internal.company\n"
                            "  prometheus 127.0.0.1:" + std::to_string(metricsPort) + "\n"
                            "  forward . 127.0.0.1:9\n"
                            "}\n");
  REQUIRE(server.running());
  for (const char* name : {"api.internal.company", "db.internal.company", "printer.local"}) {
    std::string out = dig(server.port(), {name, "A"});
    REQUIRE_MESSAGE(out.find("status: NXDOMAIN") != std::string::npos, out);
  }
  HttpReply r = httpGet(metricsPort, "/metrics");
  REQUIRE(r.status == 200);
  CAPTURE(r.body);
  auto text = lines(r.body);
  const std::string server_ = "server=\"dns://127.0.0.1:" + std::to_string(server.port()) + "\"";
  CHECK(contains(text, "moat_private_blocked_total{" + server_ + ",zone=\"internal.company.\"} 2"));
  CHECK(contains(text, "moat_private_blocked_total{" + server_ + ",zone=\"local.\"} 1"));
  CHECK(contains(text, "coredns_dns_responses_total{plugin=\"private\",rcode=\"NXDOMAIN\"," + server_ +
                           ",view=\"\",zone=\".\"} 3"));
}

}  // namespace prometheus_test
