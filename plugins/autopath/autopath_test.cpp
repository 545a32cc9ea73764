#include "plugins/autopath/autopath.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <set>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "plugins/chain.hpp"
#include "plugins/resolv_search.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"
#include "tests/support/server_process.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::autopath {
namespace {

namespace rr = dns::rrtype;
using moat::testing::decode;
using moat::testing::loadQuery;
using moat::testing::makeQuery;

dns::WireName wire(const char* text) { return dns::lowercased(*dns::nameFromText(text)); }

// What the plugins after autopath know: names that exist (an A record each, or a CNAME for
// alias.com.), names that fail as forward fails without an upstream; everything else is
// NXDOMAIN. Records each question it was asked, in order (allocation-free once reserved).
struct Data final : Handler {
  std::vector<dns::WireName> exist = {wire("b.com."), wire("a.example.com."), wire("bare."), wire("u.example.com.")};
  const dns::WireName refused = wire("u.example.org.");
  const dns::WireName fail = wire("f.example.com."), alias = wire("alias.com."), target = wire("target.example.");
  std::array<std::array<uint8_t, 256>, 16> asked{};
  size_t count = 0;
  uint16_t lastUdpSize = 0, lastType = 0;  // of the last question: the client's EDNS and type kept

  Verdict onQuery(dns::Query& q) override {
    const auto name = q.view.question.lowerName();
    if (count < asked.size()) {
      std::copy(name.begin(), name.end(), asked[count].begin());
    }
    ++count;
    lastUdpSize = q.view.edns.present ? q.view.edns.udpSize : 0;
    lastType = q.view.question.qtype;
    auto is = [&](const dns::WireName& n) { return std::equal(name.begin(), name.end(), n.begin(), n.end()); };
    dns::MessageWriter w(q.reply);
    const std::span<const uint8_t> owner(q.request.data() + q.view.question.nameOffset, q.view.question.nameLen);
    const uint8_t v4[4] = {127, 0, 0, 53};
    if (is(refused)) {  // as hosts without fallthrough ends a query: an rcode, no error
      dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::Refused);
      return Verdict::Answered;
    }
    if (is(fail)) {
      dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
      q.error = "no healthy upstream";
      return Verdict::Answered;
    }
    if (is(alias)) {
      w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, false);
      w.addRR(dns::Section::Answer, owner, rr::CNAME, dns::rrclass::IN, 30, target);
      w.addRR(dns::Section::Answer, target, rr::A, dns::rrclass::IN, 60, v4);
      return Verdict::Answered;
    }
    for (const auto& n : exist) {
      if (is(n)) {
        w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
        w.addRR(dns::Section::Answer, owner, rr::A, dns::rrclass::IN, 3600, v4);
        return Verdict::Answered;
      }
    }
    w.startReply(q.requestBytes(), q.view, dns::RCode::NXDomain, true);
    return Verdict::Answered;
  }
  std::string_view name() const override { return "data"; }

  std::vector<std::string> questions() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < std::min(count, asked.size()); ++i) out.push_back(dns::nameToText(asked[i]));
    return out;
  }
};

struct Sink final : dns::ReplySink {
  std::vector<uint8_t> last;
  int sent = 0, dropped = 0;
  Sink() { last.reserve(4096); }
  void sendReply(dns::Query& q) override {
    last.assign(q.reply.begin(), q.reply.end());
    ++sent;
  }
  void dropQuery(dns::Query&) override { ++dropped; }
};

// CoreDNS's test search path: example.org., example.com., com., then the bare name.
Config fileConfig(std::vector<std::string> zones = {"."}) {
  Config c;
  c.zones = std::move(zones);
  c.search = {wire("example.org."), wire("example.com."), wire("com.")};
  return c;
}

struct Fixture {
  std::shared_ptr<AutoPath> autopath;
  std::shared_ptr<Data> data = std::make_shared<Data>();
  ChainRunner runner{1};
  Sink sink;

  explicit Fixture(Config config = fileConfig()) : autopath(std::make_shared<AutoPath>(std::move(config), 1, "dns://:53")) {
    auto table = std::make_shared<RouteTable>();
    table->listeners.emplace_back();
    auto chain = std::make_shared<Chain>();
    chain->add(autopath);
    chain->add(data);
    table->listeners[0].add(".", chain);
    runner.publish(table);
  }

  void start(dns::Query& q, const std::vector<uint8_t>& packet, const char* client = "127.0.0.1") {
    q.reset();
    loadQuery(q, packet, dns::Proto::Udp, client);
    q.sink = &sink;
    q.dispatcher = &runner;
    runner.dispatch(q);
  }

  testing::Reply ask(const char* name, const char* client = "127.0.0.1") {
    auto q = std::make_unique<dns::Query>();
    const int before = sink.sent;
    data->count = 0;
    start(*q, makeQuery({.name = name, .type = rr::A, .edns = 1232}), client);
    REQUIRE(sink.sent == before + 1);
    auto r = decode(sink.last);
    REQUIRE(r.ok);
    return r;
  }
};

using Strings = std::vector<std::string>;

TEST_CASE("a name below the first search domain: the first non-NXDOMAIN try answers, a CNAME put first") {
  Fixture f;
  auto r = f.ask("b.example.org.");
  CHECK(r.rcode == 0);
  CHECK(r.answer == Strings{"b.example.org. 3600 IN CNAME b.com.", "b.com. 3600 IN A 127.0.0.53"});
  CHECK(r.aa);  // the found reply's header
  CHECK(r.hasOpt);
  CHECK(f.data->questions() == Strings{"b.example.org.", "b.example.com.", "b.com."});
  CHECK(f.data->lastUdpSize == 1232);
  CHECK(f.data->lastType == rr::A);
  CHECK(f.autopath->successes() == 1);
}

TEST_CASE("not below the first search domain: passed on untouched, one question") {
  Fixture f;
  auto r = f.ask("a.example.com.");
  CHECK(r.answer == Strings{"a.example.com. 3600 IN A 127.0.0.53"});
  CHECK(f.data->questions() == Strings{"a.example.com."});
  // The first search domain itself has nothing to complete.
  f.ask("example.org.");
  CHECK(f.data->questions() == Strings{"example.org."});
  CHECK(f.autopath->successes() == 0);
}

TEST_CASE("every try NXDOMAIN: the reply to the asked name, after the bare name was tried") {
  Fixture f;
  auto r = f.ask("C.Example.Org.");
  CHECK(r.rcode == 3);
  CHECK(r.answer.empty());
  CHECK(f.data->questions() == Strings{"c.example.org.", "c.example.com.", "c.com.", "c."});
  CHECK(f.autopath->successes() == 0);
  // The question as the client spelt it.
  const auto asked = *dns::nameFromText("C.Example.Org.");
  REQUIRE(f.sink.last.size() > 12 + asked.size());
  CHECK(std::equal(asked.begin(), asked.end(), f.sink.last.begin() + 12));
}

TEST_CASE("the bare name answers last, the client's spelling is kept in the CNAME's owner") {
  Fixture f;
  auto r = f.ask("Bare.example.org.");
  CHECK(r.answer == Strings{"Bare.example.org. 3600 IN CNAME Bare.", "Bare. 3600 IN A 127.0.0.53"});
  CHECK(f.data->questions().size() == 4);
}

TEST_CASE("CoreDNS's cnamer: the CNAME points at the first answer record named otherwise") {
  Fixture f;
  auto r = f.ask("alias.example.org.");
  CHECK(r.answer == Strings{"alias.example.org. 30 IN CNAME alias.com.", "alias.com. 30 IN CNAME target.example.",
                            "target.example. 60 IN A 127.0.0.53"});
  CHECK_FALSE(r.aa);
}

TEST_CASE("an error of the plugins after it ends the walk, for the client's question") {
  Fixture f;
  auto r = f.ask("f.example.org.");
  CHECK(r.rcode == 2);
  CHECK(f.data->questions() == Strings{"f.example.org.", "f.example.com."});
  CHECK(f.autopath->successes() == 0);
}

TEST_CASE("a try that ends in an rcode CoreDNS does not write (REFUSED, SERVFAIL) is passed over") {
  Fixture f;
  auto r = f.ask("u.example.org.");
  CHECK(r.answer == Strings{"u.example.org. 3600 IN CNAME u.example.com.", "u.example.com. 3600 IN A 127.0.0.53"});
  CHECK(f.data->questions() == Strings{"u.example.org.", "u.example.com."});
}

TEST_CASE("zones: a name outside them is passed on") {
  Fixture f(fileConfig({"example.net."}));
  auto r = f.ask("b.example.org.");
  CHECK(r.rcode == 3);
  CHECK(f.data->questions() == Strings{"b.example.org."});
}

// A search path a peer plugin gives per client, as kubernetes does (CoreDNS's AutoPather).
struct Pods final : SearchPathSource {
  std::string_view searchPathName() const override { return "kubernetes"; }
  bool searchPath(const dns::Query& q, SearchPath& out) override {
    std::array<uint8_t, 16> a{};
    if (q.client.address(a) != AF_INET || a[3] != 7) return false;  // only 127.0.0.7 is a pod
    out.clear();
    for (const char* d : {"ns.svc.cluster.local.", "svc.cluster.local.", "cluster.local."}) out.add(wire(d));
    return true;
  }
};

TEST_CASE("@kubernetes: the path of the client's pod, a client that is no pod is passed on") {
  Config c;
  c.zones = {"."};
  c.plugin = "kubernetes";
  Fixture f(c);
  Pods pods;
  f.autopath->useSource(&pods);
  f.data->exist.push_back(wire("b.svc.cluster.local."));
  auto r = f.ask("b.ns.svc.cluster.local.", "127.0.0.7");
  CHECK(r.answer == Strings{"b.ns.svc.cluster.local. 3600 IN CNAME b.svc.cluster.local.",
                            "b.svc.cluster.local. 3600 IN A 127.0.0.53"});
  CHECK(f.data->questions() == Strings{"b.ns.svc.cluster.local.", "b.svc.cluster.local."});
  f.ask("b.ns.svc.cluster.local.", "127.0.0.8");
  CHECK(f.data->questions() == Strings{"b.ns.svc.cluster.local."});
}

TEST_CASE("explain names the search-path name that answered") {
  Fixture f;
  testing::TraceNotes notes;
  auto q = std::make_unique<dns::Query>();
  loadQuery(*q, makeQuery({.name = "b.example.org."}), dns::Proto::Udp, "127.0.0.1");
  q->sink = &f.sink;
  q->dispatcher = &f.runner;
  q->trace = &notes;
  f.runner.dispatch(*q);
  std::string all;
  for (const auto& line : notes.lines) all += line + "\n";
  CAPTURE(all);
  CHECK(all.find("autopath: below the first search domain: tries example.org., example.com., com., (the bare name)") !=
        std::string::npos);
  CHECK(all.find("autopath: try 1 (example.org.): NXDOMAIN") != std::string::npos);
  CHECK(all.find("autopath: answered by search-path name 3 of 4: com. (rcode 0)") != std::string::npos);
  CHECK(all.find("autopath: CNAME b.example.org. -> b.com. put first") != std::string::npos);
}

TEST_CASE("no allocation per query once warm: found, all NXDOMAIN, passed on") {
  Fixture f;
  auto q = std::make_unique<dns::Query>();
  q->reply.reserve(4096);
  for (const std::string name : {"b.example.org.", "c.example.org.", "a.example.com."}) {
    CAPTURE(name);
    const auto packet = makeQuery({.name = name, .type = rr::A, .edns = 1232});
    f.start(*q, packet);  // warms the walk and subquery slots and their buffers
    testing::allocations = 0;
    testing::counting = true;
    f.start(*q, packet);
    testing::counting = false;
    CHECK(testing::allocations == 0);
  }
  CHECK(f.sink.sent == 6);
}

TEST_CASE("the metric: coredns_autopath_success_total{server}, once counted") {
  Fixture f;
  std::vector<MetricSample> out;
  f.autopath->collect(out);
  CHECK(out.empty());
  f.ask("b.example.org.");
  f.autopath->collect(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].family == "coredns_autopath_success_total");
  CHECK(out[0].labels == std::vector<std::pair<std::string, std::string>>{{"server", "dns://:53"}});
  CHECK(out[0].value == 1);
}

TEST_CASE("resolv.conf: the last search or domain line, comments skipped") {
  auto text = [](const std::vector<dns::WireName>& names) {
    std::vector<std::string> out;
    for (const auto& n : names) out.push_back(dns::nameToText(n));
    return out;
  };
  CHECK(text(resolvSearch("nameserver 1.2.3.4\ndomain foo.com\nsearch bar.com Baz.COM. # x\noptions ndots:5\n")) ==
        Strings{"bar.com.", "baz.com."});
  CHECK(text(resolvSearch("search a.example\ndomain b.example c.example\n")) == Strings{"b.example."});
  CHECK(text(resolvSearch("; search a.example\nnameserver 1.1.1.1\n")).empty());
}

// Setup through the Corefile parser: a SetupContext as the runtime builds it.
conf::Result<Config> parse(const std::string& corefile, const std::string& baseDir = "") {
  auto cf = conf::parseCorefile(corefile, "Corefile");
  REQUIRE_MESSAGE(cf.ok(), (cf.ok() ? std::string() : cf.error().str()));
  static conf::Corefile keep;
  keep = std::move(*cf);
  SetupContext ctx;
  ctx.block = &keep.blocks.at(0);
  ctx.zones = {"cluster.local."};
  ctx.baseDir = baseDir;
  for (const conf::Directive& d : keep.blocks.at(0).directives) {
    if (d.name.text == "autopath") ctx.stanzas.push_back(&d);
  }
  return parseConfig(ctx);
}

TEST_CASE("setup: CoreDNS's forms, and errors at their places") {
  testing::TempDir dir;
  dir.write("my-resolv.conf", "nameserver 1.2.3.4\ndomain foo.com\nsearch bar.com baz.com\noptions ndots:5\n");
  auto file = parse("cluster.local {\n  autopath my-resolv.conf\n}\n", dir.path());
  REQUIRE(file.ok());
  CHECK(file->zones == Strings{"cluster.local."});
  CHECK(file->search.size() == 2);
  CHECK(file->plugin.empty());
  auto zoned = parse("cluster.local {\n  autopath example.org 10.0.0.0/8 my-resolv.conf\n}\n", dir.path());
  REQUIRE(zoned.ok());
  CHECK(zoned->zones == Strings{"example.org.", "10.in-addr.arpa."});
  auto k8s = parse("cluster.local {\n  autopath @kubernetes\n  kubernetes {\n    pods verified\n  }\n}\n");
  REQUIRE(k8s.ok());
  CHECK(k8s->plugin == "kubernetes");

  auto none = parse("cluster.local {\n  autopath\n}\n");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().str().find("Corefile:2:3") != std::string::npos);
  CHECK(none.error().str().find("no resolv-conf specified") != std::string::npos);
  auto missing = parse("cluster.local {\n  autopath kubernetes\n}\n", dir.path());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().str().find("Corefile:2:12") != std::string::npos);
  CHECK(missing.error().str().find("failed to parse \"kubernetes\"") != std::string::npos);
  auto typo = parse("cluster.local {\n  autopath @kubernets\n  kubernetes\n}\n");
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.error().str().find("did you mean '@kubernetes'") != std::string::npos);
  auto alone = parse("cluster.local {\n  autopath @kubernetes\n}\n");
  REQUIRE_FALSE(alone.ok());
  CHECK(alone.error().str().find("Corefile:2:12") != std::string::npos);
  CHECK(alone.error().str().find("needs a kubernetes plugin in the same server block") != std::string::npos);
  auto insecure = parse("cluster.local {\n  autopath @kubernetes\n  kubernetes {\n    pods insecure\n  }\n}\n");
  REQUIRE_FALSE(insecure.ok());
  CHECK(insecure.error().str().find("Corefile:2:12") != std::string::npos);
  CHECK(insecure.error().str().find("needs 'pods verified'") != std::string::npos);
  auto block = parse("cluster.local {\n  autopath @kubernetes {\n    fallthrough\n  }\n  kubernetes {\n    pods verified\n  }\n}\n");
  REQUIRE_FALSE(block.ok());
  CHECK(block.error().str().find("Corefile:3:5") != std::string::npos);
}

}  // namespace
}  // namespace moat::plugins::autopath
