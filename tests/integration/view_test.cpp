// `view` through the real binary, with clients on several loopback addresses: CoreDNS's view
// README examples (client networks mapped into 127.0.0.0/8 with their nesting kept,
// 2001:db8::/32 played by ::1, upstreams played by fake ones, listeners bound to loopback), and
// the routing rules around them.
#include <doctest/doctest.h>

#include "tests/integration/fault_support.hpp"
#include "tests/support/fake_upstream.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace view_test {

using namespace moat::testing;

namespace {

Reply askFrom(const std::string& source, uint16_t port, const std::string& name, uint16_t type = 1) {
  return decode(exchangeUdpFrom(source, port, makeQuery({.name = name, .type = type})));
}

size_t countName(const FakeUpstream& up, const std::string& name) {
  size_t n = 0;
  for (const auto& r : up.received()) n += r.name == name ? 1 : 0;
  return n;
}

std::vector<std::string> answerOf(const std::string& source, uint16_t port,
                                  const std::string& name, uint16_t type = 1) {
  return askFrom(source, port, name, type).answer;
}

}  // namespace

TEST_CASE("view README: CIDR based split DNS") {
  TempDir dir;
  // 127.0.0.0/24 as written; 192.168.0.0/16 -> 127.168.0.0/16; 2001:0DB8::/32 -> ::1/128.
  ServerProcess s(dir, R"(.:@PORT@ {
  bind 127.0.0.1 ::1
  view example1 {
    expr incidr(client_ip(), '127.0.0.0/24')
  }
  hosts {
    1.1.1.1 test
  }
}

.:@PORT@ {
  bind 127.0.0.1 ::1
  view example2 {
    expr incidr(client_ip(), '127.168.0.0/16')
  }
  hosts {
    2.2.2.2 test
  }
}

.:@PORT@ {
  bind 127.0.0.1 ::1
  view v6_example1 {
    expr incidr(client_ip(), '::1/128')
  }
  hosts {
    2001:0DB8::1 test
  }
}

.:@PORT@ {
  bind 127.0.0.1 ::1
  hosts {
    3.3.3.3 test
  }
}
)");
  CHECK(answerOf("127.0.0.1", s.port(), "test.") == std::vector<std::string>{"test. 3600 IN A 1.1.1.1"});
  CHECK(answerOf("127.0.0.9", s.port(), "test.") == std::vector<std::string>{"test. 3600 IN A 1.1.1.1"});
  CHECK(answerOf("127.168.0.1", s.port(), "test.") == std::vector<std::string>{"test. 3600 IN A 2.2.2.2"});
  CHECK(answerOf("127.168.200.7", s.port(), "test.") == std::vector<std::string>{"test. 3600 IN A 2.2.2.2"});
  CHECK(answerOf("::1", s.port(), "test.", 28) == std::vector<std::string>{"test. 3600 IN AAAA 2001:db8::1"});
  CHECK(answerOf("127.1.0.1", s.port(), "test.") == std::vector<std::string>{"test. 3600 IN A 3.3.3.3"});
  CHECK(answerOf("127.169.0.1", s.port(), "test.") == std::vector<std::string>{"test. 3600 IN A 3.3.3.3"});
}

TEST_CASE("view README: A and AAAA to one upstream, everything else to another") {
  FakeUpstream addresses, others;
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  view example {\n    expr type() in ['A', 'AAAA']\n  }\n  forward . " +
                           addresses.address() + "\n}\n\n.:@PORT@ {\n  bind 127.0.0.1\n  forward . " +
                           others.address() + "\n}\n");
  CHECK(askFrom("127.0.0.1", s.port(), "a.example.").rcode == 0);
  CHECK(askFrom("127.0.0.1", s.port(), "aaaa.example.", 28).rcode == 0);
  CHECK(askFrom("127.0.0.1", s.port(), "mx.example.", 15).rcode == 0);
  CHECK(askFrom("127.0.0.1", s.port(), "txt.example.", 16).rcode == 0);
  CHECK(countName(addresses, "a.example.") == 1);
  CHECK(countName(addresses, "aaaa.example.") == 1);
  CHECK(countName(others, "mx.example.") == 1);
  CHECK(countName(others, "txt.example.") == 1);
  CHECK(countName(addresses, "mx.example.") + countName(others, "a.example.") == 0);
}

TEST_CASE("view README: names matching a regular expression to one upstream") {
  FakeUpstream abc, others;
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  view example {\n    expr name() matches '^abc\\\\..*\\\\.example\\\\.com\\\\.$'\n  }\n  forward . " +
                           abc.address() + "\n}\n\n.:@PORT@ {\n  bind 127.0.0.1\n  forward . " +
                           others.address() + "\n}\n");
  for (const char* name : {"abc.x.example.com.", "ABC.x.y.Example.com.", "abcd.example.com.",
                           "abc.example.com.", "xabc.x.example.com."}) {
    REQUIRE(askFrom("127.0.0.1", s.port(), name).rcode == 0);
  }
  CHECK(abc.queries() == 2);
  CHECK(countName(abc, "abc.x.example.com.") == 1);
  CHECK(countName(abc, "ABC.x.y.Example.com.") == 1);
  CHECK(others.queries() == 3);
}

TEST_CASE("view: no view of the longest zone matches: shorter zones, then the root, then REFUSED") {
  TempDir dir;
  ServerProcess s(dir, R"(example.org:@PORT@ {
  bind 127.0.0.1
  view office {
    expr incidr(client_ip(), '127.0.0.2/32')
  }
  hosts {
    10.0.0.1 www.example.org
  }
}

org:@PORT@ {
  bind 127.0.0.1
  view partners {
    expr incidr(client_ip(), '127.0.0.3/32')
  }
  hosts {
    10.0.0.2 www.example.org
  }
}

.:@PORT@ {
  bind 127.0.0.1
  view others {
    expr client_ip() != '127.0.0.4'
  }
  hosts {
    10.0.0.3 www.example.org
  }
}
)");
  CHECK(answerOf("127.0.0.2", s.port(), "www.example.org.") == std::vector<std::string>{"www.example.org. 3600 IN A 10.0.0.1"});
  CHECK(answerOf("127.0.0.3", s.port(), "www.example.org.") == std::vector<std::string>{"www.example.org. 3600 IN A 10.0.0.2"});
  CHECK(answerOf("127.0.0.5", s.port(), "www.example.org.") == std::vector<std::string>{"www.example.org. 3600 IN A 10.0.0.3"});
  const Reply refused = askFrom("127.0.0.4", s.port(), "www.example.org.");
  CHECK(refused.ok);
  CHECK(refused.rcode == 5);
}

TEST_CASE("view: blocks of one zone and port are tried top to bottom, a view-less one first shadows") {
  TempDir dir;
  ServerProcess s(dir, R"(.:@PORT@ {
  bind 127.0.0.1
  hosts {
    1.1.1.1 test
  }
}

.:@PORT@ {
  bind 127.0.0.1
  view never {
    expr incidr(client_ip(), '127.0.0.2/32')
  }
  hosts {
    2.2.2.2 test
  }
}
)");
  CHECK(answerOf("127.0.0.2", s.port(), "test.") == std::vector<std::string>{"test. 3600 IN A 1.1.1.1"});
}

TEST_CASE("view: two view-less blocks on one zone and port are still a start error") {
  TempDir dir;
  const std::string conf = dir.write("Corefile", ".:15353 {\n  whoami\n}\n.:15353 {\n  view v {\n    expr true\n  }\n  whoami\n}\n.:15353 {\n  whoami\n}\n");
  std::string out;
  CHECK(runCommand({MOAT_BINARY, "-conf", conf}, out) == 1);
  CHECK(out.find("Corefile:10:1: zone '.' is already defined on port 15353") != std::string::npos);
}

TEST_CASE("view: a bad expression is a start error at its position") {
  TempDir dir;
  const std::string conf = dir.write("Corefile", ".:15353 {\n  view v {\n    expr incidr(client_ip(), '10.0.0.0/40')\n  }\n  whoami\n}\n");
  std::string out;
  CHECK(runCommand({MOAT_BINARY, "-conf", conf}, out) == 1);
  CHECK(out.find("Corefile:3:30: view: expression: invalid CIDR address: 10.0.0.0/40") != std::string::npos);
}

TEST_CASE("view: metrics carry the view label") {
  TempDir dir;
  const uint16_t metrics = freePort();
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  prometheus 127.0.0.1:" + std::to_string(metrics) +
                           "\n  view office {\n    expr incidr(client_ip(), '127.0.0.2/32')\n  }\n  whoami\n}\n"
                           ".:@PORT@ {\n  bind 127.0.0.1\n  prometheus 127.0.0.1:" + std::to_string(metrics) +
                           "\n  whoami\n}\n");
  REQUIRE(eventually([&] { return httpGet(metrics, "/metrics").status == 200; }, std::chrono::seconds(10)));
  REQUIRE(askFrom("127.0.0.2", s.port(), "a.example.").ok);
  REQUIRE(askFrom("127.0.0.3", s.port(), "b.example.").ok);
  REQUIRE(askFrom("127.0.0.3", s.port(), "c.example.").ok);
  const std::string prefix = "coredns_dns_requests_total{family=\"1\",proto=\"udp\",server=\"dns://127.0.0.1:" +
                             std::to_string(s.port()) + "\",type=\"A\",view=\"";
  CHECK(metricOrZero(metrics, prefix + "office\",zone=\".\"}") == 1);
  CHECK(metricOrZero(metrics, prefix + "\",zone=\".\"}") == 2);
}

}  // namespace view_test
