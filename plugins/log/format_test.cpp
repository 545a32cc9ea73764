#include <arpa/inet.h>
#include <doctest/doctest.h>

#include "plugins/log/format.hpp"
#include "plugins/log/log_test_util.hpp"

namespace moat::plugins::log {
namespace {

using namespace std::chrono_literals;
using test::Clock;

std::string line(const Format& f, const dns::Query& q, Clock::time_point now) {
  fmt::memory_buffer out;
  formatEntry(f, q, now, out);
  return fmt::to_string(out);
}

std::string line(std::string_view format, const dns::Query& q) {
  return line(compileFormat(format), q, q.start);
}

std::string seconds(std::chrono::nanoseconds d) {
  fmt::memory_buffer out;
  appendSeconds(out, d);
  return fmt::to_string(out);
}

const Format kCommonCompiled = compileFormat(kCommonFormat);

TEST_CASE("common format: the CoreDNS example line") {
  auto q = test::query({.name = "example.org.", .id = 4660});
  test::answerA(*q);
  CHECK(q->requestLen == 29);
  Clock::time_point now = Clock::now();
  q->start = now - 183921ns;
  CHECK(line(kCommonCompiled, *q, now) ==
        R"([INFO] 127.0.0.1:40000 - 4660 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd 56 0.000183921s)");
}

TEST_CASE("combined format appends the opcode") {
  auto q = test::query({.name = "example.org.", .id = 1});
  test::answerA(*q);
  Clock::time_point now = Clock::now();
  q->start = now - 1s;
  CHECK(line(compileFormat(combinedFormat()), *q, now) ==
        R"([INFO] 127.0.0.1:40000 - 1 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd 56 1s "0")");
}

TEST_CASE("the qname is printed lowercased, as a FQDN") {
  auto q = test::query({.name = "WWW.Example.ORG"});
  CHECK(line("{name}", *q) == "[INFO] www.example.org.");
}

TEST_CASE("IPv6 client in brackets, IPv4-mapped client as IPv4") {
  auto q = test::query({.name = "example.org.", .id = 7}, dns::Proto::Udp, "2001:db8::1", 53000);
  test::answerA(*q);
  Clock::time_point now = Clock::now();
  q->start = now - 2ms;
  CHECK(line(kCommonCompiled, *q, now) ==
        R"([INFO] [2001:db8::1]:53000 - 7 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd 56 0.002s)");

  auto m = test::query({.name = "example.org."}, dns::Proto::Udp, "::ffff:10.1.2.3", 1234);
  CHECK(line("{remote}:{port}", *m) == "[INFO] 10.1.2.3:1234");
}

TEST_CASE("TCP reports 65535 as the buffer size, EDNS or not") {
  auto q = test::query({.name = "example.org.", .id = 9, .edns = 1232}, dns::Proto::Tcp);
  test::answerA(*q);
  CHECK(line(R"("{proto} {size} {>do} {>bufsize}")", *q) == R"([INFO] "tcp 40 false 65535")");
}

TEST_CASE("EDNS: DO bit and the advertised size, never below 512") {
  auto q = test::query({.name = "example.org.", .edns = 4096, .dnssecOk = true});
  CHECK(line("{size} {>do} {>bufsize}", *q) == "[INFO] 40 true 4096");
  auto small = test::query({.name = "example.org.", .edns = 100});
  CHECK(line("{>do} {>bufsize}", *small) == "[INFO] false 512");
}

TEST_CASE("rflags lists the reply's flags in CoreDNS order") {
  auto q = test::query({.name = "example.org.", .rd = false});
  dns::MessageWriter w(q->reply);
  w.startReply(q->requestBytes(), q->view, dns::RCode::NoError, false);
  CHECK(line("[{>rflags}]", *q) == "[INFO] [qr]");
  for (uint16_t f : {dns::flag::CD, dns::flag::AD, dns::flag::Z, dns::flag::RA, dns::flag::RD,
                     dns::flag::TC, dns::flag::AA}) {
    w.setFlag(f, true);
  }
  CHECK(line("[{>rflags}]", *q) == "[INFO] [qr,aa,tc,rd,ra,z,ad,cd]");
  w.setFlag(dns::flag::QR, false);
  w.setFlag(dns::flag::AA, false);
  w.setFlag(dns::flag::Z, false);
  CHECK(line("[{>rflags}]", *q) == "[INFO] [tc,rd,ra,ad,cd]");
  for (uint16_t f : {dns::flag::CD, dns::flag::AD, dns::flag::RA, dns::flag::RD, dns::flag::TC}) {
    w.setFlag(f, false);
  }
  CHECK(line("[{>rflags}]", *q) == "[INFO] []");
}

TEST_CASE("rcode names, numbers, and the EDNS extended rcode") {
  auto q = test::query({.name = "example.org."});
  struct Case {
    uint8_t rcode;
    std::string_view text;
  };
  for (Case c : {Case{0, "NOERROR"}, Case{1, "FORMERR"}, Case{2, "SERVFAIL"}, Case{3, "NXDOMAIN"},
                 Case{4, "NOTIMP"}, Case{5, "REFUSED"}, Case{6, "YXDOMAIN"}, Case{7, "YXRRSET"},
                 Case{8, "NXRRSET"}, Case{9, "NOTAUTH"}, Case{10, "NOTZONE"}, Case{12, "12"},
                 Case{15, "15"}}) {
    CAPTURE(c.rcode);
    dns::writeErrorReply(q->reply, q->requestBytes(), &q->view, static_cast<dns::RCode>(c.rcode));
    CHECK(line("{rcode}", *q) == "[INFO] " + std::string(c.text));
  }
  // OPT TTL high byte 1 => rcode 16 (BADVERS, which miekg/dns prints as BADSIG).
  dns::writeErrorReply(q->reply, q->requestBytes(), &q->view, dns::RCode::NoError);
  const uint8_t opt[] = {0, 0, 41, 0x04, 0xD0, 1, 0, 0, 0, 0, 0};
  q->reply.insert(q->reply.end(), std::begin(opt), std::end(opt));
  dns::put16(q->reply.data() + 10, 1);
  CHECK(line("{rcode}", *q) == "[INFO] BADSIG");
}

TEST_CASE("no reply: rcode and rflags print '-', rsize 0") {
  auto q = test::query({.name = "example.org."});
  CHECK(line("{rcode} {>rflags} {rsize}", *q) == "[INFO] - - 0");
}

TEST_CASE("type and class names, and the fallbacks for unknown ones") {
  struct Case {
    uint16_t type, klass;
    std::string_view text;
  };
  for (Case c : {Case{1, 1, "A IN"}, Case{28, 3, "AAAA CH"}, Case{65, 4, "HTTPS HS"},
                 Case{64, 254, "SVCB NONE"}, Case{255, 255, "ANY ANY"}, Case{252, 1, "AXFR IN"},
                 Case{251, 1, "IXFR IN"}, Case{257, 1, "CAA IN"}, Case{52, 1, "TLSA IN"},
                 Case{35, 1, "NAPTR IN"}, Case{13, 1, "HINFO IN"}, Case{50, 1, "NSEC3 IN"},
                 Case{65534, 7, "TYPE65534 CLASS7"}, Case{2, 2, "NS CS"}}) {
    CAPTURE(c.type);
    auto q = test::query({.name = "example.org.", .type = c.type, .klass = c.klass});
    CHECK(line("{type} {class}", *q) == "[INFO] " + std::string(c.text));
  }
}

TEST_CASE("local address, header id and opcode") {
  auto q = test::query({.name = "example.org.", .id = 65535});
  auto& local = reinterpret_cast<sockaddr_in6&>(q->local.addr);
  local.sin6_family = AF_INET6;
  local.sin6_port = htons(53);
  REQUIRE(inet_pton(AF_INET6, "::1", &local.sin6_addr) == 1);
  q->local.len = sizeof(sockaddr_in6);
  CHECK(line("{local} {>id} {>opcode}", *q) == "[INFO] [::1] 65535 0");
}

TEST_CASE("compileFormat follows CoreDNS's replacer") {
  auto q = test::query({.name = "example.org."});
  CHECK(line("{ {type} }", *q) == "[INFO] { A }");
  CHECK(line("A } {foo}", *q) == "[INFO] A } {foo}");
  CHECK(line("{unknown} {type}", *q) == "[INFO] {unknown} A");
  CHECK(line("{>ID} {TYPE}", *q) == "[INFO] {>ID} {TYPE}");   // labels are case-sensitive
  CHECK(line("{/log/class} {/x}", *q) == "[INFO] - -");       // no metadata in Moat
  CHECK(line("{{name}}", *q) == "[INFO] {example.org.}");
  CHECK(line("no labels", *q) == "[INFO] no labels");
  CHECK(line("", *q) == "[INFO] ");
  CHECK(line("{", *q) == "[INFO] {");
  CHECK(line("}", *q) == "[INFO] }");

  Format f = compileFormat("x {type}{name} y {nope} z");
  REQUIRE(f.segments.size() == 4);
  CHECK(f.segments[0] == Segment{Field::Literal, "x "});
  CHECK(f.segments[1] == Segment{Field::Type, ""});
  CHECK(f.segments[2] == Segment{Field::Name, ""});
  CHECK(f.segments[3] == Segment{Field::Literal, " y {nope} z"});
}

TEST_CASE("{common} and {combined} expand anywhere in a format") {
  CHECK(expandShortcuts("{common}") == kCommonFormat);
  CHECK(expandShortcuts("{combined}") == combinedFormat());
  CHECK(expandShortcuts("pre {common} post") == "pre " + std::string(kCommonFormat) + " post");
  CHECK(expandShortcuts("{name} {type}") == "{name} {type}");
}

TEST_CASE("duration: Go's shortest 'f' formatting of Duration.Seconds()") {
  struct Case {
    std::chrono::nanoseconds d;
    std::string_view text;
  };
  for (Case c : {Case{0ns, "0s"}, Case{1ns, "0.000000001s"}, Case{10ns, "0.00000001s"},
                 Case{183921ns, "0.000183921s"}, Case{123456789ns, "0.123456789s"},
                 Case{1s, "1s"}, Case{1500ms, "1.5s"}, Case{10100ms, "10.1s"}, Case{2min, "120s"},
                 Case{1000000001ns, "1.000000001s"}, Case{3600000000001ns, "3600.000000001s"},
                 Case{37990251ns, "0.037990251s"}, Case{100us, "0.0001s"},
                 Case{-1500ms, "-1.5s"}}) {
    CAPTURE(c.d.count());
    CHECK(seconds(c.d) == c.text);
  }
}

}  // namespace
}  // namespace moat::plugins::log
