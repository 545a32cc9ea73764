// The expression subset: every function of CoreDNS's environment, every operator with
// expr-lang's precedence, errors at their Corefile position, and evaluation without allocation.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <sstream>

#include "plugins/pkg/expression/expression.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::plugins::expression {
namespace {

using moat::testing::loadQuery;
using moat::testing::makeQuery;

// The words of one `expr` line as the Corefile lexer would give them (split at spaces), on
// line 7 starting at column 10.
std::vector<conf::Token> words(const std::string& text) {
  std::vector<conf::Token> out;
  std::istringstream in(text);
  uint32_t col = 10;
  for (std::string w; in >> w;) {
    const size_t at = text.find(w, col - 10);
    out.push_back({w, conf::Pos{"Corefile", 7, static_cast<uint32_t>(10 + at)}, false});
    col = static_cast<uint32_t>(10 + at + w.size());
  }
  return out;
}

conf::Result<Program> compile(const std::string& text) { return Program::compile(words(text), "view"); }

struct Fixture {
  dns::Query q;
  Env env;
  Fixture(const std::string& name = "Www.Example.ORG.", uint16_t type = 1,
          const std::string& client = "127.0.0.2", dns::Proto proto = dns::Proto::Udp) {
    loadQuery(q, makeQuery({.name = name, .type = type, .id = 4242, .edns = 1232, .dnssecOk = true}),
              proto, client, 53001);
    auto& local = reinterpret_cast<sockaddr_in&>(q.local.addr);
    local.sin_family = AF_INET;
    local.sin_port = htons(1053);
    inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
    q.local.len = sizeof local;
  }
  bool test(const std::string& text) {
    auto p = compile(text);
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().str()));
    return p->test(q, env);
  }
  std::string text(const std::string& expr) {
    auto p = compile(expr);
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().str()));
    Value v = p->evaluate(q, env);
    REQUIRE(v.type == Type::String);
    return std::string(v.s);
  }
  int64_t number(const std::string& expr) {
    auto p = compile(expr);
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().str()));
    Value v = p->evaluate(q, env);
    REQUIRE(v.type == Type::Int);
    return v.i;
  }
};

TEST_CASE("expression: the DNS query functions") {
  Fixture f;
  CHECK(f.text("type()") == "A");
  CHECK(f.text("name()") == "www.example.org.");  // lowercased, as CoreDNS's request.Name
  CHECK(f.text("class()") == "IN");
  CHECK(f.text("proto()") == "udp");
  CHECK(f.text("client_ip()") == "127.0.0.2");
  CHECK(f.text("port()") == "53001");
  CHECK(f.text("server_ip()") == "127.0.0.1");
  CHECK(f.text("server_port()") == "1053");
  CHECK(f.number("id()") == 4242);
  CHECK(f.number("opcode()") == 0);
  CHECK(f.number("bufsize()") == 1232);
  CHECK(f.number("size()") == static_cast<int64_t>(f.q.requestLen));
  CHECK(f.test("do()"));
  CHECK(f.text("metadata('view/name')") == "");

  Fixture tcp("a.example.", 65534, "::1", dns::Proto::Tcp);
  CHECK(tcp.text("type()") == "TYPE65534");
  CHECK(tcp.text("proto()") == "tcp");
  CHECK(tcp.text("client_ip()") == "::1");  // bare, as CoreDNS's code returns it
  CHECK(tcp.number("bufsize()") == 65535);

  Fixture mapped("a.example.", 1, "::ffff:10.1.2.3");
  CHECK(mapped.text("client_ip()") == "10.1.2.3");
  CHECK(mapped.test("incidr(client_ip(), '10.0.0.0/8')"));

  Fixture escaped("a\\.b.ex\\032ample.");
  CHECK(escaped.text("name()") == "a\\.b.ex\\032ample.");
}

TEST_CASE("expression: incidr") {
  Fixture v4;
  CHECK(v4.test("incidr(client_ip(), '127.0.0.0/24')"));
  CHECK(v4.test("incidr(client_ip(), '127.0.0.2/32')"));
  CHECK_FALSE(v4.test("incidr(client_ip(), '127.0.1.0/24')"));
  CHECK_FALSE(v4.test("incidr(client_ip(), '::/0')"));  // families do not mix
  CHECK(v4.test("incidr('192.168.3.4', '192.168.0.0/16')"));
  CHECK(v4.test("incidr(server_ip(), '127.0.0.1/32')"));
  CHECK(v4.test("incidr(client_ip(), '127.0.0.3/31')"));  // host bits are ignored
  Fixture v6("a.example.", 1, "2001:db8::5");
  CHECK(v6.test("incidr(client_ip(), '2001:0DB8::/32')"));
  CHECK_FALSE(v6.test("incidr(client_ip(), '2001:db9::/32')"));
  // Not an address: an error at run time, which makes the expression false (as CoreDNS).
  CHECK_FALSE(v4.test("incidr('x', '10.0.0.0/8') || true"));
  CHECK_FALSE(v4.test("not incidr(name(), '10.0.0.0/8')"));
}

TEST_CASE("expression: operators and precedence") {
  Fixture f;
  CHECK(f.test("type() == 'A'"));
  CHECK(f.test("type() != 'AAAA'"));
  CHECK(f.test("type() in ['A', 'AAAA']"));
  CHECK_FALSE(f.test("type() in ['MX']"));
  CHECK(f.test("type() not in ['MX', 'TXT']"));
  CHECK(f.test("id() in [1, 4242]"));
  CHECK(f.test("bufsize() >= 512 && bufsize() < 4096"));
  CHECK(f.test("id() > 4241.5"));
  CHECK(f.test("'abc' < 'abd'"));
  CHECK(f.test("name() endsWith 'example.org.' and name() startsWith 'www.'"));
  CHECK(f.test("name() contains 'ample'"));
  CHECK(f.test("name() matches '^www\\\\..*\\\\.org\\\\.$'"));
  CHECK_FALSE(f.test("name() matches '^abc'"));
  CHECK(f.test("name() not matches '^abc'"));
  CHECK(f.test("not (type() == 'MX')"));
  CHECK(f.test("!false"));
  // `and` binds tighter than `or`; `not` tighter than both.
  CHECK(f.test("true or false and false"));
  CHECK_FALSE(f.test("(true or false) and false"));
  CHECK(f.test("not false and true"));
  CHECK(f.test("(type() == 'A' && name() == 'www.example.org.') || client_ip() == '1.2.3.4'"));
  CHECK(f.test("proto() == \"udp\""));
  CHECK(f.test("-1 < 0"));
}

TEST_CASE("expression: CoreDNS's view README expressions compile") {
  for (const char* text : {"incidr(client_ip(), '127.0.0.0/24')", "incidr(client_ip(), '192.168.0.0/16')",
                           "incidr(client_ip(), '2001:0DB8::/32')", "type() in ['A', 'AAAA']",
                           "name() matches '^abc\\\\..*\\\\.example\\\\.com\\\\.$'"}) {
    CAPTURE(text);
    auto p = compile(text);
    CHECK_MESSAGE(p.ok(), (p.ok() ? "" : p.error().str()));
  }
  Fixture f("abc.x.y.example.com.");
  CHECK(f.test("name() matches '^abc\\\\..*\\\\.example\\\\.com\\\\.$'"));
}

TEST_CASE("expression: errors name the position and what is wrong") {
  struct Case {
    const char* text;
    uint32_t col;
    const char* message;
  };
  const std::string kDeep(100, '(');
  const Case cases[] = {
      {"foo() == 'A'", 10, "unknown function 'foo'"},
      {"type() + 'A'", 17, "'+' is not supported"},
      {"name() matches '(['", 25, "invalid regular expression"},
      {"incidr(client_ip(), '10.0.0.0/33')", 30, "invalid CIDR address: 10.0.0.0/33"},
      {"incidr(client_ip(), 'ten')", 30, "invalid CIDR address"},
      {"type() == 1", 17, "mismatched types string and int"},
      {"type() == 'A", 20, "unterminated string"},
      {"type() ==", 19, "unexpected end of expression"},
      {"type", 10, "unknown name 'type'"},
      {"incidr(client_ip())", 10, "incidr() takes 2 arguments, not 1"},
      {"name() matches type()", 25, "must be a string literal"},
      {"type() in 'A'", 17, "must be an array"},
      {"(type() == 'A'", 24, "expected ')'"},
      {"type() == 'A' type()", 24, "unexpected 'type'"},
      {"not name()", 10, "invalid operation: not string"},
      {"name().x", 16, "'.' is not supported"},
      {kDeep.c_str(), 0, "nested too deeply"},  // col 0: wherever the limit is hit
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto p = compile(c.text);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().pos.line == 7);
    if (c.col != 0) CHECK(p.error().pos.col == c.col);
    CHECK(p.error().message.find(c.message) != std::string::npos);
    CHECK(p.error().message.rfind("view: expression: ", 0) == 0);
  }
}

TEST_CASE("expression: the client networks an expression is about, for lint") {
  auto one = compile("incidr(client_ip(), '10.0.0.0/8')");
  REQUIRE(one.ok());
  auto nets = one->clientNetworks();
  REQUIRE(nets.has_value());
  REQUIRE(nets->size() == 1);
  CHECK(nets->front().contains(*plugins::parseAddress("10.9.9.9")));
  auto two = compile("incidr(client_ip(), '10.0.0.0/8') || incidr(client_ip(), '::1/128') or "
                     "incidr(client_ip(), '192.168.0.0/16')");
  REQUIRE(two.ok());
  CHECK(two->clientNetworks()->size() == 3);
  for (const char* other : {"type() == 'A'", "incidr(client_ip(), '10.0.0.0/8') && true",
                            "incidr(server_ip(), '10.0.0.0/8')", "not incidr(client_ip(), '10.0.0.0/8')",
                            "incidr(client_ip(), '10.0.0.0/8') || type() == 'A'"}) {
    CAPTURE(other);
    auto p = compile(other);
    REQUIRE(p.ok());
    CHECK_FALSE(p->clientNetworks().has_value());
  }
}

TEST_CASE("expression: evaluating does not allocate") {
  Fixture f;
  auto p = compile("incidr(client_ip(), '127.0.0.0/8') && type() in ['A', 'AAAA'] && "
                   "name() matches 'example' && client_ip() != '10.0.0.1' && "
                   "incidr(server_ip(), '127.0.0.0/8') && port() != '53'");
  REQUIRE(p.ok());
  REQUIRE(p->test(f.q, f.env));  // warm (RE2 builds its DFA states lazily)
  moat::testing::allocations = 0;
  moat::testing::counting = true;
  bool all = true;
  for (int k = 0; k < 100; ++k) all = all && p->test(f.q, f.env);
  moat::testing::counting = false;
  CHECK(all);
  CHECK(moat::testing::allocations == 0);
}

}  // namespace
}  // namespace moat::plugins::expression
