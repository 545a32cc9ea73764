// header: the rules' checks with their positions, and what the rules do to query and reply.
#include "plugins/header/header.hpp"

#include <doctest/doctest.h>

#include "dns/message.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

using namespace moat;
using namespace moat::testing;
using plugins::header::parseConfig;

namespace {

conf::Result<plugins::header::Config> parse(const std::string& corefile, std::vector<conf::Diag>* warnings = nullptr) {
  static Parsed p;  // the stanzas point into it
  p = stanzasOf(corefile, "header");
  return parseConfig(p.stanzas, warnings);
}

// The error for `corefile`: its line, column and a piece of its message.
void checkError(const std::string& corefile, uint32_t line, uint32_t col, const std::string& text) {
  CAPTURE(corefile);
  auto r = parse(corefile);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().pos.line == line);
  CHECK(r.error().pos.col == col);
  CHECK_MESSAGE(r.error().message.find(text) != std::string::npos, r.error().message);
}

}  // namespace

TEST_CASE("header: rules fold in order, the last one for a flag wins") {
  auto r = parse(". {\n  header {\n    response set ra aa\n    response clear rd AA\n    QUERY Set rd\n  }\n}\n");
  REQUIRE(r.ok());
  CHECK(r->response.set == dns::flag::RA);
  CHECK(r->response.clear == (dns::flag::RD | dns::flag::AA));
  CHECK(r->query.set == dns::flag::RD);
  CHECK(r->query.clear == 0);
  CHECK(r->response.apply(dns::flag::QR | dns::flag::AA | dns::flag::RD) == (dns::flag::QR | dns::flag::RA));
}

TEST_CASE("header: every mistake at its place, with did-you-mean") {
  checkError(". {\n  header\n}\n", 2, 3, "needs a block with at least one rule");
  checkError(". {\n  header {\n  }\n}\n", 2, 3, "needs a block with at least one rule");
  checkError(". {\n  header set ra\n}\n", 2, 10, "rules go in a block");
  checkError(". {\n  header {\n    set ra\n  }\n}\n", 3, 5, "a rule starts with its selector");
  checkError(". {\n  header {\n    respons set ra\n  }\n}\n", 3, 5, "did you mean 'response'?");
  checkError(". {\n  header {\n    response\n  }\n}\n", 3, 5, "needs an action");
  checkError(". {\n  header {\n    query sett rd\n  }\n}\n", 3, 11, "did you mean 'set'?");
  checkError(". {\n  header {\n    query clear\n  }\n}\n", 3, 11, "needs at least one flag");
  checkError(". {\n  header {\n    response set ra ad\n  }\n}\n", 3, 21, "unknown flag 'ad'");
  checkError(". {\n  header {\n    response set ra ar\n  }\n}\n", 3, 21, "did you mean 'aa'?");
}

TEST_CASE("header: as CoreDNS, only the first stanza with rules counts, later ones warn") {
  std::vector<conf::Diag> warnings;
  auto r = parse(". {\n  header {\n  }\n  header {\n    response set aa\n  }\n  header {\n    bogus\n  }\n}\n",
                 &warnings);
  REQUIRE(r.ok());
  CHECK(r->response.set == dns::flag::AA);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].pos.line == 7);
  CHECK(warnings[0].severity == conf::Severity::Warning);
}

TEST_CASE("header: query rules change what the next plugins read, response rules the reply") {
  auto config = parse(". {\n  header {\n    query set rd\n    response set ra\n    response clear aa\n  }\n}\n");
  REQUIRE(config.ok());
  plugins::header::HeaderHandler handler(*config);
  CHECK(handler.observesReplies());
  dns::Query q;
  loadQuery(q, makeQuery({.name = "example.org", .rd = false}));
  CHECK(handler.onQuery(q) == plugins::Verdict::Next);
  CHECK((q.view.header.flags & dns::flag::RD) != 0);
  CHECK((dns::get16(&q.request[2]) & dns::flag::RD) != 0);
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
  counting = true;
  allocations = 0;
  handler.onReply(q);
  counting = false;
  CHECK(allocations == 0);
  const Reply r = decode(q.reply);
  CHECK(r.rd);  // copied from the query header changed
  CHECK(r.ra);
  CHECK_FALSE(r.aa);
}

TEST_CASE("header: onQuery allocates nothing") {
  auto config = parse(". {\n  header {\n    query clear rd\n  }\n}\n");
  REQUIRE(config.ok());
  plugins::header::HeaderHandler handler(*config);
  CHECK_FALSE(handler.observesReplies());
  dns::Query q;
  loadQuery(q, makeQuery({.name = "example.org"}));
  counting = true;
  allocations = 0;
  handler.onQuery(q);
  counting = false;
  CHECK(allocations == 0);
  CHECK((q.view.header.flags & dns::flag::RD) == 0);
}
