#include <doctest/doctest.h>

#include <atomic>

#include "conf/parser.hpp"
#include "plugins/ready/ready.hpp"

namespace moat::plugins::ready {
namespace {

class FakeReadiness final : public Readiness {
 public:
  explicit FakeReadiness(std::string name, bool ready = false) : name_(std::move(name)), ready_(ready) {}
  bool ready() const override {
    ++asked;
    return ready_;
  }
  std::string_view readinessName() const override { return name_; }
  void set(bool value) { ready_ = value; }
  mutable std::atomic<int> asked{0};

 private:
  std::string name_;
  std::atomic<bool> ready_;
};

struct Setup {
  conf::Result<HandlerPtr> result = HandlerPtr();
  std::vector<HttpRoute> routes;
  // Filled after setup, as the runtime does once the block's chain is built.
  std::shared_ptr<std::vector<std::shared_ptr<const Readiness>>> readiness =
      std::make_shared<std::vector<std::shared_ptr<const Readiness>>>();
};

Setup run(std::string_view corefile) {
  Setup s;
  auto cf = conf::parseCorefile(corefile, "Corefile");
  REQUIRE_MESSAGE(cf.ok(), (cf.ok() ? std::string() : cf.error().str()));
  for (const conf::ServerBlock& block : cf->blocks) {
    SetupContext ctx;
    ctx.http = &s.routes;
    ctx.readiness = s.readiness;
    for (const conf::Directive& d : block.directives) {
      if (d.name.text == "ready") ctx.stanzas.push_back(&d);
    }
    s.result = setupReady(ctx);
    if (!s.result) break;
  }
  return s;
}

TEST_CASE("ready: address, path, no handler") {
  struct Case {
    std::string_view corefile;
    std::string_view address;
  };
  const Case cases[] = {
      {". {\n  ready\n}\n", ":8181"},
      {". {\n  ready localhost:8185\n}\n", "localhost:8185"},
      {". {\n  ready [::]:8181 {\n    monitor continuously\n  }\n}\n", "[::]:8181"},
      {". {\n  ready {\n    monitor until-ready\n  }\n}\n", ":8181"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    Setup s = run(c.corefile);
    REQUIRE_MESSAGE(s.result.ok(), (s.result.ok() ? std::string() : s.result.error().str()));
    CHECK(*s.result == nullptr);
    REQUIRE(s.routes.size() == 1);
    CHECK(s.routes[0].address == c.address);
    CHECK(s.routes[0].path == "/ready");
    HttpResponse r = s.routes[0].handle();  // nothing reports readiness: ready
    CHECK(r.status == 200);
    CHECK(r.body == "OK");
  }
}

TEST_CASE("ready: 503 with the sorted names of the unready, 200 once all are ready") {
  Setup s = run(". {\n  ready\n}\n");
  REQUIRE(s.result.ok());
  auto zeta = std::make_shared<FakeReadiness>("zeta");
  auto kube = std::make_shared<FakeReadiness>("kubernetes");
  auto done = std::make_shared<FakeReadiness>("already", true);
  s.readiness->assign({zeta, kube, done});  // after setup, as the runtime does

  HttpResponse r = s.routes[0].handle();
  CHECK(r.status == 503);
  CHECK(r.body == "kubernetes,zeta");
  kube->set(true);
  r = s.routes[0].handle();
  CHECK(r.status == 503);
  CHECK(r.body == "zeta");
  zeta->set(true);
  r = s.routes[0].handle();
  CHECK(r.status == 200);
  CHECK(r.body == "OK");
}

TEST_CASE("ready: until-ready stops asking a plugin that was ready, continuously keeps asking") {
  for (bool continuously : {false, true}) {
    CAPTURE(continuously);
    Setup s = run(continuously ? ". {\n  ready {\n    monitor continuously\n  }\n}\n" : ". {\n  ready\n}\n");
    REQUIRE(s.result.ok());
    auto kube = std::make_shared<FakeReadiness>("kubernetes", true);
    s.readiness->push_back(kube);
    CHECK(s.routes[0].handle().status == 200);
    kube->set(false);  // e.g. its objects vanished
    HttpResponse r = s.routes[0].handle();
    CHECK(r.status == (continuously ? 503u : 200u));
    CHECK(kube->asked == (continuously ? 2 : 1));
  }
}

TEST_CASE("ready: every route answers 503 Shutting down once shutdown began") {
  Setup s = run("a.test {\n  ready :8181\n}\nb.test {\n  ready 127.0.0.1:8182\n}\n");
  REQUIRE(s.result.ok());
  REQUIRE(s.routes.size() == 2);
  setShuttingDown(true);
  for (const HttpRoute& route : s.routes) {
    HttpResponse r = route.handle();
    CHECK(r.status == 503);
    CHECK(r.body == "Shutting down");
  }
  setShuttingDown(false);
  CHECK(s.routes[1].handle().status == 200);
}

TEST_CASE("ready: errors name their position") {
  struct Case {
    std::string_view corefile;
    std::string_view error;
  };
  const Case cases[] = {
      {". {\n  ready 8181\n}\n", "Corefile:2:9: ready: address must be host:port (e.g. :8181), got '8181'"},
      {". {\n  ready :8181 :8182\n}\n", "Corefile:2:15: ready: 'ready' takes at most 1 argument, got 2"},
      {". {\n  ready {\n    monitor sometimes\n  }\n}\n",
       "Corefile:3:13: ready: monitor must be until-ready or continuously, got 'sometimes'"},
      {". {\n  ready {\n    monitor\n  }\n}\n", "Corefile:3:5: ready: 'monitor' takes exactly 1 argument, got 0"},
      {". {\n  ready {\n    monitr continuously\n  }\n}\n",
       "Corefile:3:5: ready: unknown option 'monitr', did you mean 'monitor'?"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    Setup s = run(c.corefile);
    REQUIRE_FALSE(s.result.ok());
    CHECK(s.result.error().str() == c.error);
  }
}

}  // namespace
}  // namespace moat::plugins::ready
