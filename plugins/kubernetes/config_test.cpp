#include "plugins/kubernetes/config.hpp"

#include <doctest/doctest.h>

#include "conf/parser.hpp"
#include "dns/name.hpp"

namespace moat::plugins::kubernetes {
namespace {

using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

// `kubernetes <head> { <lines> }` inside a block for `blockZones`; the directive is on line 2
// and its options on lines 3, 4, ... (column 5).
struct Parsed {
  conf::Result<conf::Corefile> corefile;
  conf::Result<KubernetesConfig> config;
};

Parsed parse(std::string_view head, std::initializer_list<std::string_view> lines,
             Strings blockZones = {"cluster.local."}, std::string baseDir = "/etc/moat") {
  std::string text = "cluster.local {\n  kubernetes";
  if (!head.empty()) text += " " + std::string(head);
  text += " {\n";
  for (std::string_view l : lines) text += "    " + std::string(l) + "\n";
  text += "  }\n}\n";
  Parsed p{conf::parseCorefile(text, "Corefile"), conf::errorAt(conf::Pos{}, "unset")};
  REQUIRE_MESSAGE(p.corefile.ok(), (p.corefile.ok() ? "" : p.corefile.error().str()));
  SetupContext ctx;
  ctx.zones = std::move(blockZones);
  ctx.stanzas = {&p.corefile->blocks.at(0).directives.at(0)};
  ctx.baseDir = std::move(baseDir);
  p.config = parseKubernetes(ctx);
  return p;
}

bool falls(const Fall& fall, std::string_view name) {
  auto wire = dns::nameFromText(name);
  REQUIRE(wire.has_value());
  return fall.through(*wire);
}

TEST_CASE("config: defaults, with the block's zones") {
  auto p = parse("", {"objects cluster.yaml"}, {"cluster.local.", "in-addr.arpa."});
  REQUIRE_MESSAGE(p.config.ok(), (p.config.ok() ? "" : p.config.error().str()));
  const KubernetesConfig& c = *p.config;
  CHECK(c.zones == Strings{"cluster.local.", "in-addr.arpa."});
  CHECK(c.primaryZone == 0);
  CHECK(c.objects == Strings{"/etc/moat/cluster.yaml"});
  CHECK(c.namespaces.empty());
  CHECK(c.pods == PodMode::Disabled);
  CHECK_FALSE(c.endpointPodNames);
  CHECK(c.ttl == 5);
  CHECK_FALSE(c.noEndpoints);
  CHECK_FALSE(c.ignoreEmptyService);
  CHECK_FALSE(c.fall.enabled());
  CHECK(c.multiclusterZones.empty());
  CHECK_FALSE(c.zonal);
  CHECK(c.startupTimeout == 5s);
  CHECK(c.warnings.empty());
  CHECK(c.pos.line == 2);
}

TEST_CASE("config: zones from the arguments, normalised, CIDRs as reverse zones") {
  auto p = parse("10.0.0.0/8 Cluster.Local fd00::/8", {"objects /srv/a.json dir"});
  REQUIRE(p.config.ok());
  CHECK(p.config->zones == Strings{"10.in-addr.arpa.", "cluster.local.", "d.f.ip6.arpa."});
  CHECK(p.config->primaryZone == 1);  // the first forward zone names PTR targets
  CHECK(p.config->objects == Strings{"/srv/a.json", "/etc/moat/dir"});
}

TEST_CASE("config: every option") {
  auto p = parse("cluster.local clusterset.local",
                 {"endpoint https://10.0.0.1:6443", "tls cert.pem key.pem ca.pem",
                  "kubeconfig kube.conf ctx", "apiserver_qps 12.5", "apiserver_burst 20",
                  "apiserver_max_inflight 7", "namespaces Default kube-system",
                  "labels app=web, tier in (a,b)", "pods verified", "endpoint_pod_names",
                  "ttl 3600", "noendpoints", "fallthrough in-addr.arpa", "ignore empty_service",
                  "multicluster clusterset.local", "startup_timeout 1m30s",
                  "objects more.yaml"});
  REQUIRE_MESSAGE(p.config.ok(), (p.config.ok() ? "" : p.config.error().str()));
  const KubernetesConfig& c = *p.config;
  CHECK(c.endpoints == Strings{"https://10.0.0.1:6443"});
  REQUIRE(c.tls.has_value());
  CHECK(c.tls->cert == "/etc/moat/cert.pem");
  CHECK(c.tls->ca == "/etc/moat/ca.pem");
  CHECK(c.kubeconfig == "/etc/moat/kube.conf");
  CHECK(c.kubeconfigContext == "ctx");
  CHECK(c.apiserverQps == 12.5);
  CHECK(c.apiserverBurst == 20);
  CHECK(c.apiserverMaxInflight == 7);
  CHECK(c.namespaces == Strings{"default", "kube-system"});
  CHECK(c.labels == "app=web, tier in (a,b)");
  CHECK(c.pods == PodMode::Verified);
  CHECK(c.endpointPodNames);
  CHECK(c.ttl == 3600);
  CHECK(c.noEndpoints);
  CHECK(c.fall.enabled());
  CHECK(falls(c.fall, "1.0.0.10.in-addr.arpa."));
  CHECK_FALSE(falls(c.fall, "x.cluster.local."));
  CHECK(c.ignoreEmptyService);
  CHECK(c.multiclusterZones == Strings{"clusterset.local."});
  CHECK(c.startupTimeout == 90s);
  CHECK(c.objects == Strings{"/etc/moat/more.yaml"});
  CHECK(c.warnings.empty());
}

TEST_CASE("config: pods modes, ttl bounds, zonal, namespace_labels") {
  for (auto [mode, want] : {std::pair{"disabled", PodMode::Disabled},
                            std::pair{"insecure", PodMode::Insecure},
                            std::pair{"verified", PodMode::Verified}}) {
    std::string line = std::string("pods ") + mode;
    auto p = parse("", {"objects x", line});
    REQUIRE(p.config.ok());
    CHECK(p.config->pods == want);
  }
  auto zero = parse("", {"objects x", "ttl 0", "zonal", "namespace_labels !legacy"});
  REQUIRE(zero.config.ok());
  CHECK(zero.config->ttl == 0);
  CHECK(zero.config->zonal);
  CHECK(zero.config->namespaceLabels == "!legacy");
}

TEST_CASE("config: upstream is accepted with a warning, several endpoints warn") {
  auto p = parse("", {"objects x", "upstream", "upstream 10.0.0.1:53", "endpoint a b"});
  REQUIRE(p.config.ok());
  REQUIRE(p.config->warnings.size() == 3);
  CHECK(p.config->warnings[0].severity == conf::Severity::Warning);
  CHECK(p.config->warnings[0].pos.line == 4);
  CHECK(p.config->warnings[0].message.find("'upstream' was removed") != std::string::npos);
  CHECK(p.config->warnings[2].pos.line == 6);
  CHECK(p.config->warnings[2].message.find("multiple endpoints") != std::string::npos);
}

TEST_CASE("config: rejected configurations name the place") {
  struct Case {
    std::string head;
    std::vector<std::string> lines;
    uint32_t line, col;
    std::string contains;
  };
  const std::vector<Case> cases = {
      {"", {"objects"}, 3, 5, "'objects' takes at least 1 argument"},
      {"", {"objects x", "ttll 5"}, 4, 5, "unknown option 'ttll', did you mean 'ttl'"},
      {"", {"objects x", "ttl 3601"}, 4, 9, "ttl must be an integer from 0 to 3600"},
      {"", {"objects x", "ttl -1"}, 4, 9, "ttl must be"},
      {"", {"objects x", "ttl"}, 4, 5, "'ttl' takes exactly 1 argument"},
      {"", {"objects x", "pods all"}, 4, 10, "wrong value for pods: 'all'"},
      {"", {"objects x", "pods"}, 4, 5, "'pods' takes exactly 1 argument"},
      {"", {"objects x", "endpoint_pod_names yes"}, 4, 24, "takes no arguments"},
      {"", {"objects x", "noendpoints 1"}, 4, 17, "takes no arguments"},
      {"", {"objects x", "ignore nothing"}, 4, 12, "unable to parse ignore value: 'nothing'"},
      {"", {"objects x", "namespaces"}, 4, 5, "'namespaces' takes at least 1 argument"},
      {"", {"objects x", "namespaces a", "namespace_labels x=y"}, 5, 5,
       "namespaces and namespace_labels cannot both be set"},
      {"", {"objects x", "namespace_labels x=y", "namespaces a"}, 5, 5, "cannot both be set"},
      {"", {"objects x", "labels a=b=c"}, 4, 12, "unable to parse labels selector"},
      {"", {"objects x", "labels -bad"}, 4, 12, "invalid label key"},
      {"", {"objects x", "tls a b"}, 4, 5, "'tls' takes exactly 3 arguments"},
      {"", {"objects x", "kubeconfig a b c"}, 4, 20, "takes 1 to 2 arguments"},
      {"", {"objects x", "apiserver_qps -1"}, 4, 19, "apiserver_qps must be a number >= 0"},
      {"", {"objects x", "apiserver_qps fast"}, 4, 19, "apiserver_qps"},
      {"", {"objects x", "apiserver_burst -3"}, 4, 21, "apiserver_burst must be an integer"},
      {"", {"objects x", "apiserver_max_inflight x"}, 4, 28, "apiserver_max_inflight"},
      {"", {"objects x", "startup_timeout 5"}, 4, 21, "startup_timeout must be a duration"},
      {"", {"objects x", "startup_timeout 0s"}, 4, 21, "must be positive"},
      {"", {"objects x", "multicluster other.local"}, 4, 5,
       "is not authoritative for the multicluster zone other.local."},
      {"", {"objects x", "zonal", "noendpoints"}, 4, 5, "zonal requires the endpoint cache"},
      {"1.10.in-addr.arpa 10.0.0.0/8", {"objects x"}, 2, 14, "non-reverse zone name must be used"},
      {"bad..zone", {"objects x"}, 2, 14, ""},
      {"", {"objects x", "fallthrough bad..zone"}, 4, 17, ""},
      {"", {"objects x", "ttl 5 {", "}"}, 4, 5, "'ttl' cannot open a block"},
  };
  for (const Case& c : cases) {
    std::string body;
    for (const std::string& l : c.lines) body += "    " + l + "\n";
    CAPTURE(body);
    std::string corefile = "cluster.local {\n  kubernetes" + (c.head.empty() ? "" : " " + c.head) +
                           " {\n" + body + "  }\n}\n";
    auto parsed = conf::parseCorefile(corefile, "Corefile");
    REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().str()));
    SetupContext ctx;
    ctx.zones = {"cluster.local."};
    ctx.stanzas = {&parsed->blocks.at(0).directives.at(0)};
    auto cfg = parseKubernetes(ctx);
    REQUIRE_FALSE(cfg.ok());
    CAPTURE(cfg.error().str());
    CHECK(cfg.error().pos.line == c.line);
    CHECK(cfg.error().pos.col == c.col);
    if (!c.contains.empty()) CHECK(cfg.error().message.rfind("kubernetes: ", 0) == 0);
    CHECK(cfg.error().message.find(c.contains) != std::string::npos);
  }
}

TEST_CASE("config: a bare in-addr.arpa counts as a forward zone, as in CoreDNS") {
  auto p = parse("in-addr.arpa", {"objects x"});
  REQUIRE(p.config.ok());
  CHECK(p.config->primaryZone == 0);
}

TEST_CASE("config: one stanza per block") {
  auto corefile = conf::parseCorefile(
      "cluster.local {\n  kubernetes {\n    objects a\n  }\n  kubernetes {\n    objects b\n  }\n}\n",
      "Corefile");
  REQUIRE(corefile.ok());
  SetupContext ctx;
  ctx.zones = {"cluster.local."};
  for (const conf::Directive& d : corefile->blocks.at(0).directives) ctx.stanzas.push_back(&d);
  auto cfg = parseKubernetes(ctx);
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.error().pos.line == 5);
  CHECK(cfg.error().message.find("only once") != std::string::npos);
}

TEST_CASE("config: label selectors") {
  for (const char* good : {"a", "!a", "a=b", "a==b", "a!=b", "a=", "a in (b,c)", "a notin ()",
                           "a>3", "x.io/a-b_c.d=v-1", "a=b,c!=d, e in (f)"}) {
    CAPTURE(good);
    std::string why;
    CHECK(validLabelSelector(good, why));
  }
  for (const char* bad : {"=b", "a=b=c", "a in b", "a in (b", "a>b", "!a=b", "a b", "a,", "-a",
                          "a=-b", "X.IO/a=b"}) {
    CAPTURE(bad);
    std::string why;
    CHECK_FALSE(validLabelSelector(bad, why));
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("config: without objects the stub loads as an empty cluster, with a warning") {
  auto p = parse("", {"pods insecure"});
  REQUIRE(p.config.ok());
  CHECK(p.config->objects.empty());
  REQUIRE(p.config->warnings.size() == 1);
  CHECK(p.config->warnings[0].pos.line == 2);
  CHECK(p.config->warnings[0].message.find("empty cluster") != std::string::npos);
}

}  // namespace
}  // namespace moat::plugins::kubernetes
