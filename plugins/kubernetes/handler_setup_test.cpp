// setupKubernetes end to end: Corefile text -> config -> objects store -> answers.
#include <doctest/doctest.h>

#include "conf/parser.hpp"
#include "dns/wire.hpp"
#include "plugins/kubernetes/kubernetes.hpp"
#include "plugins/kubernetes/records_fixture.hpp"
#include "tests/support/server_process.hpp"

namespace moat::plugins::kubernetes {
namespace {

using namespace testing;
namespace rr = dns::rrtype;

const char* const kObjects = R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: shop}
- apiVersion: v1
  kind: Service
  metadata: {name: api, namespace: shop}
  spec:
    clusterIP: 10.96.10.20
    clusterIPs: [10.96.10.20, "fd00:10:96::14"]
    ports:
    - {name: http, port: 80, protocol: TCP}
)";

struct Built {
  conf::Result<conf::Corefile> corefile;
  std::vector<conf::Diag> warnings;
  conf::Result<HandlerPtr> handler;
};

Built setup(const std::string& dir, const std::string& options) {
  Built b{conf::parseCorefile("cluster.local {\n  kubernetes {\n" + options + "  }\n}\n",
                              dir + "/Corefile"),
          {}, conf::errorAt(conf::Pos{}, "unset")};
  REQUIRE(b.corefile.ok());
  SetupContext ctx;
  ctx.zones = {"cluster.local."};
  ctx.stanzas = {&b.corefile->blocks.at(0).directives.at(0)};
  ctx.baseDir = dir;
  ctx.warnings = &b.warnings;
  b.handler = setupKubernetes(ctx);
  return b;
}

TEST_CASE("setup: objects relative to the Corefile load before the first query") {
  moat::testing::TempDir dir;
  dir.write("cluster.yaml", kObjects);
  auto b = setup(dir.path(), "    objects cluster.yaml\n    upstream\n    ttl 30\n");
  REQUIRE_MESSAGE(b.handler.ok(), (b.handler.ok() ? "" : b.handler.error().str()));
  REQUIRE(b.warnings.size() == 1);  // the removed `upstream`
  CHECK(b.warnings[0].message.find("upstream") != std::string::npos);

  Handler& h = **b.handler;
  CHECK(h.name() == "kubernetes");
  CHECK(static_cast<Kubernetes&>(h).ready());
  CHECK(ask(h, "api.shop.svc.cluster.local.", rr::A).reply.answer ==
        Strings{"api.shop.svc.cluster.local. 30 IN A 10.96.10.20"});
  CHECK(ask(h, "api.shop.svc.cluster.local.", rr::AAAA).reply.answer ==
        Strings{"api.shop.svc.cluster.local. 30 IN AAAA fd00:10:96::14"});
  CHECK(ask(h, "_http._tcp.api.shop.svc.cluster.local.", rr::SRV).reply.answer ==
        Strings{"_http._tcp.api.shop.svc.cluster.local. 30 IN SRV 0 50 80 "
                "api.shop.svc.cluster.local."});
  CHECK(ask(h, "nope.shop.svc.cluster.local.", rr::A).reply.rcode == kNxDomain);
}

TEST_CASE("setup: objects that are not there yet: not ready, and NXDOMAINs are SERVFAIL") {
  moat::testing::TempDir dir;
  auto b = setup(dir.path(), "    objects missing.yaml\n");
  REQUIRE(b.handler.ok());
  CHECK_FALSE(static_cast<Kubernetes&>(**b.handler).ready());
  auto r = ask(**b.handler, "api.shop.svc.cluster.local.", rr::A);
  CHECK(r.reply.rcode == kServFail);
  CHECK(r.reply.authority.size() == 1);
}

TEST_CASE("setup: a bad option fails with its position") {
  moat::testing::TempDir dir;
  auto b = setup(dir.path(), "    objects x\n    pods sometimes\n");
  REQUIRE_FALSE(b.handler.ok());
  CHECK(b.handler.error().pos.line == 4);
  CHECK(b.handler.error().pos.col == 10);
}

}  // namespace
}  // namespace moat::plugins::kubernetes
