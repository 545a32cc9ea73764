// docker/kubernetes/ and docker/Dockerfile read as data and held against each other and against
// the Corefile they ship, built by the server's own code: probes on the ports and paths the
// Corefile serves, Service ports on the DNS and metrics ports, labels that select, RBAC that
// lets the feed list what the kubernetes plugin reads, the feed writing where `objects` reads,
// and the security context the image needs.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lint/lint.hpp"
#include "tests/deploy/deploy_util.hpp"
#include "tests/support/server_process.hpp"

using namespace moat::deploy_test;
namespace conf = moat::conf;
namespace mt = moat::testing;

namespace {

const std::string kNamespace = "kube-system";

std::vector<Manifest> manifests() { return loadManifests(sourcePath("docker/kubernetes")); }

YAML::Node deployment(const std::vector<Manifest>& all) { return findManifest(all, "Deployment", "coredns"); }
YAML::Node podSpec(const std::vector<Manifest>& all) { return deployment(all)["spec"]["template"]["spec"]; }
YAML::Node dnsContainer(const std::vector<Manifest>& all) { return containerNamed(podSpec(all), "coredns"); }

// The one container of the pod that is not the DNS server: the objects feed.
YAML::Node feedContainer(const std::vector<Manifest>& all) {
  YAML::Node spec = podSpec(all);
  REQUIRE(spec["containers"].size() == 2);
  for (const auto& c : spec["containers"]) {
    if (c["name"].as<std::string>() != "coredns") return c;
  }
  FAIL("no feed container");
  return {};
}

std::string configMapCorefile(const std::vector<Manifest>& all) {
  YAML::Node cm = findManifest(all, "ConfigMap", "coredns");
  REQUIRE(cm["data"]["Corefile"].IsScalar());
  return cm["data"]["Corefile"].as<std::string>();
}

// The ConfigMap's Corefile as the pod sees it once the feed has written its first listing,
// on a machine without the cluster: `objects` names a stand-in listing (in the pod, the feed's
// file) and `forward` a stand-in resolv.conf (in the pod, the node's; this host's may list
// only a loopback stub). Everything else is the ConfigMap's text.
std::string buildableCorefile(const std::vector<Manifest>& all, const mt::TempDir& dir) {
  std::string resolv = dir.write("resolv.conf", "nameserver 192.0.2.53\n");
  std::string objects = dir.write("cluster.json", R"({"apiVersion": "v1", "kind": "List", "items": []})");
  return rewriteLines(configMapCorefile(all),
                      {{"forward . /etc/resolv.conf {", "forward . " + resolv + " {"},
                       {"objects /var/run/moat/objects/cluster.json", "objects " + objects}});
}

ServedPorts configMapPorts(const std::vector<Manifest>& all) {
  mt::TempDir dir;
  std::string path = dir.path() + "/Corefile";
  return buildAndListPorts(buildableCorefile(all, dir), path);
}

std::string objectsPath(const std::vector<Manifest>& all) {
  conf::Corefile parsed = parseCorefileText(configMapCorefile(all), "/etc/coredns/Corefile");
  REQUIRE(parsed.blocks.size() == 1);
  std::vector<const conf::Directive*> objects;
  collectDirectives(parsed.blocks[0].directives, "objects", objects);
  REQUIRE(objects.size() == 1);
  REQUIRE(objects[0]->args.size() == 1);
  return objects[0]->args[0].text;
}

// The volume mount of `container` whose mountPath holds `path`; fails when none does.
YAML::Node mountHolding(const YAML::Node& container, const std::string& path) {
  for (const auto& m : container["volumeMounts"]) {
    std::string dir = m["mountPath"].as<std::string>();
    if (startsWith(path, dir + "/")) return m;
  }
  FAIL(path << " is on no volume of container " << container["name"].as<std::string>());
  return {};
}

YAML::Node volumeNamed(const YAML::Node& spec, const std::string& name) {
  for (const auto& v : spec["volumes"]) {
    if (v["name"].as<std::string>() == name) return v;
  }
  FAIL("no volume " << name);
  return {};
}

std::string envValue(const YAML::Node& container, const std::string& name) {
  for (const auto& e : container["env"]) {
    if (e["name"].as<std::string>() == name) return e["value"].as<std::string>();
  }
  FAIL("container " << container["name"].as<std::string>() << " sets no " << name);
  return "";
}

// USER uid[:gid] of the final stage, as a number.
long dockerfileUser() {
  auto user = words(dockerfile().back().one("USER").args);
  REQUIRE(user.size() == 1);
  std::string uid = user[0].substr(0, user[0].find(':'));
  REQUIRE_MESSAGE(!uid.empty(), "USER is empty");
  REQUIRE_MESSAGE(uid.find_first_not_of("0123456789") == std::string::npos, "USER is not numeric: " << user[0]);
  return std::stol(uid);
}

// Whether a rule list grants `verb` on `resource` in API group `group`.
bool grants(const YAML::Node& rules, const std::string& group, const std::string& resource, const std::string& verb) {
  for (const auto& r : rules) {
    auto groups = stringList(r["apiGroups"]);
    auto resources = stringList(r["resources"]);
    auto verbs = stringList(r["verbs"]);
    auto has = [](const std::vector<std::string>& v, const std::string& x) {
      return std::find(v.begin(), v.end(), x) != v.end() || std::find(v.begin(), v.end(), "*") != v.end();
    };
    if (has(groups, group) && has(resources, resource) && has(verbs, verb)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("every manifest is a Kubernetes object in kube-system, with the names kubeadm's add-on uses") {
  auto all = manifests();
  REQUIRE(!all.empty());
  std::set<std::string> seen;
  for (const auto& m : all) {
    CAPTURE(m.file);
    REQUIRE(m.node.IsMap());
    CHECK(m.node["apiVersion"].IsScalar());
    std::string kind = m.node["kind"].as<std::string>("");
    std::string name = m.node["metadata"]["name"].as<std::string>("");
    CHECK(!kind.empty());
    CHECK(!name.empty());
    bool clusterScoped = kind == "ClusterRole" || kind == "ClusterRoleBinding";
    if (!clusterScoped) CHECK(m.node["metadata"]["namespace"].as<std::string>("") == kNamespace);
    CHECK_MESSAGE(seen.insert(kind + "/" + name).second, "duplicate " << kind << "/" << name);
  }
  std::set<std::string> expected = {"ConfigMap/coredns", "Deployment/coredns", "Service/kube-dns",
                                    "ServiceAccount/coredns", "ClusterRole/system:coredns",
                                    "ClusterRoleBinding/system:coredns"};
  CHECK(seen == expected);
}

TEST_CASE("the ConfigMap's Corefile is kubeadm's plus `objects`, and the server builds it") {
  auto all = manifests();
  std::string text = configMapCorefile(all);
  // The server's own parser, on the text exactly as shipped.
  conf::Corefile parsed = parseCorefileText(text, "/etc/coredns/Corefile");
  REQUIRE(parsed.blocks.size() == 1);
  REQUIRE(parsed.blocks[0].keys.size() == 1);
  CHECK(parsed.blocks[0].keys[0].text == ".:53");
  std::vector<std::string> directives;
  for (const auto& d : parsed.blocks[0].directives) directives.push_back(d.name.text);
  CHECK(directives == std::vector<std::string>{"errors", "health", "ready", "kubernetes", "prometheus", "forward",
                                                "cache", "loop", "reload", "loadbalance"});
  CHECK(objectsPath(all) == "/var/run/moat/objects/cluster.json");

  // Built the way the server builds it at start: every plugin set up, nothing ignored.
  ServedPorts ports = configMapPorts(all);
  CHECK(ports.warnings.empty());
  for (const auto& w : ports.warnings) MESSAGE(w);

  // And `moat lint` finds nothing it calls an error (once lint exists: until then it says so).
  mt::TempDir dir;
  std::string path = dir.write("Corefile", buildableCorefile(all, dir));
  std::vector<std::string> args = {"--fail-on", "error", path};
  std::istringstream in;
  std::ostringstream out, err;
  int rc = moat::lint::runLint(args, in, out, err);
  if (rc == 2 && err.str().find("not built yet") != std::string::npos) {
    MESSAGE("moat lint is not built yet; the ConfigMap's Corefile is only parsed and built");
  } else {
    CHECK_MESSAGE(rc == 0, "moat lint: " << out.str() << err.str());
  }
}

TEST_CASE("probes, container ports and Service ports are the ports the Corefile serves") {
  auto all = manifests();
  ServedPorts ports = configMapPorts(all);
  REQUIRE(ports.dns == std::set<int>{53});
  REQUIRE(ports.http.count("/health"));
  REQUIRE(ports.http.count("/ready"));
  REQUIRE(ports.http.count("/metrics"));
  CHECK(ports.http.at("/health") == 8080);
  CHECK(ports.http.at("/ready") == 8181);
  CHECK(ports.http.at("/metrics") == 9153);

  YAML::Node c = dnsContainer(all);
  // Liveness: GET /health on health's port, with kubeadm's timings.
  YAML::Node live = c["livenessProbe"];
  CHECK(live["httpGet"]["path"].as<std::string>("") == "/health");
  CHECK(resolvePort(live["httpGet"]["port"], c) == ports.http.at("/health"));
  CHECK(live["httpGet"]["scheme"].as<std::string>("HTTP") == "HTTP");
  CHECK(live["initialDelaySeconds"].as<int>(-1) == 60);
  CHECK(live["timeoutSeconds"].as<int>(-1) == 5);
  CHECK(live["successThreshold"].as<int>(-1) == 1);
  CHECK(live["failureThreshold"].as<int>(-1) == 5);
  // Readiness: GET /ready on ready's port.
  YAML::Node ready = c["readinessProbe"];
  CHECK(ready["httpGet"]["path"].as<std::string>("") == "/ready");
  CHECK(resolvePort(ready["httpGet"]["port"], c) == ports.http.at("/ready"));

  // The container declares every port the Corefile serves.
  std::set<std::pair<int, std::string>> containerPorts;
  for (const auto& p : c["ports"]) {
    containerPorts.insert({p["containerPort"].as<int>(), p["protocol"].as<std::string>("TCP")});
  }
  std::set<std::pair<int, std::string>> served = {{53, "UDP"}, {53, "TCP"}};
  for (const auto& [path, port] : ports.http) served.insert({port, "TCP"});
  CHECK(containerPorts == served);

  // kube-dns: dns 53/UDP, dns-tcp 53/TCP, metrics on prometheus's port, each reaching a
  // container port of the same protocol; the scrape annotations name the metrics port.
  YAML::Node svc = findManifest(all, "Service", "kube-dns");
  std::map<std::string, std::pair<int, std::string>> byName;
  for (const auto& p : svc["spec"]["ports"]) {
    std::string proto = p["protocol"].as<std::string>("TCP");
    int target = p["targetPort"].IsDefined() ? resolvePort(p["targetPort"], c) : p["port"].as<int>();
    CHECK_MESSAGE(containerPorts.count({target, proto}), "Service port " << p["name"].as<std::string>("")
                                                                          << " targets no container port " << target << "/" << proto);
    byName[p["name"].as<std::string>("")] = {p["port"].as<int>(), proto};
  }
  CHECK(byName.size() == 3);
  CHECK(byName["dns"] == std::pair<int, std::string>{*ports.dns.begin(), "UDP"});
  CHECK(byName["dns-tcp"] == std::pair<int, std::string>{*ports.dns.begin(), "TCP"});
  CHECK(byName["metrics"] == std::pair<int, std::string>{ports.http.at("/metrics"), "TCP"});
  CHECK(svc["metadata"]["annotations"]["prometheus.io/scrape"].as<std::string>("") == "true");
  CHECK(svc["metadata"]["annotations"]["prometheus.io/port"].as<std::string>("") == std::to_string(ports.http.at("/metrics")));
  // A fixed clusterIP: the address kubelets hand to pods.
  std::string ip = svc["spec"]["clusterIP"].as<std::string>("");
  CHECK(ip == "10.96.0.10");
}

TEST_CASE("the Service selects the Deployment's pods, and the Deployment runs the image as the Dockerfile means") {
  auto all = manifests();
  YAML::Node d = deployment(all);
  YAML::Node labels = d["spec"]["template"]["metadata"]["labels"];
  REQUIRE(labels.IsMap());
  CHECK(labels["k8s-app"].as<std::string>("") == "kube-dns");
  auto selects = [&](const YAML::Node& selector) {
    REQUIRE(selector.IsMap());
    REQUIRE(selector.size() > 0);
    for (const auto& kv : selector) {
      if (labels[kv.first.as<std::string>()].as<std::string>("") != kv.second.as<std::string>()) return false;
    }
    return true;
  };
  CHECK(selects(findManifest(all, "Service", "kube-dns")["spec"]["selector"]));
  CHECK(selects(d["spec"]["selector"]["matchLabels"]));

  // Args only: the image's ENTRYPOINT runs, with the Dockerfile's CMD replaced by the same
  // -conf, which is where the ConfigMap volume puts its Corefile key.
  YAML::Node c = dnsContainer(all);
  CHECK_FALSE(c["command"].IsDefined());
  auto args = stringList(c["args"]);
  auto cmd = execForm(dockerfile().back().one("CMD"));
  CHECK(args == cmd);
  REQUIRE(args.size() == 2);
  CHECK(args[0] == "-conf");
  YAML::Node mount = mountHolding(c, args[1]);
  YAML::Node volume = volumeNamed(podSpec(all), mount["name"].as<std::string>());
  CHECK(volume["configMap"]["name"].as<std::string>("") == "coredns");
  std::string file = args[1].substr(mount["mountPath"].as<std::string>().size() + 1);
  bool mapped = false;
  for (const auto& item : volume["configMap"]["items"]) {
    if (item["key"].as<std::string>() == "Corefile" && item["path"].as<std::string>() == file) mapped = true;
  }
  CHECK_MESSAGE(mapped, "the ConfigMap volume does not put key Corefile at " << args[1]);
}

TEST_CASE("the Deployment's ServiceAccount exists and its role lets the feed list what the plugin reads") {
  auto all = manifests();
  std::string account = podSpec(all)["serviceAccountName"].as<std::string>("");
  REQUIRE(!account.empty());
  findManifest(all, "ServiceAccount", account);

  bool bound = false;
  for (const auto& binding : manifestsOfKind(all, "ClusterRoleBinding")) {
    bool forAccount = false;
    for (const auto& s : binding["subjects"]) {
      if (s["kind"].as<std::string>("") == "ServiceAccount" && s["name"].as<std::string>("") == account &&
          s["namespace"].as<std::string>("") == kNamespace) {
        forAccount = true;
      }
    }
    if (!forAccount) continue;
    REQUIRE(binding["roleRef"]["kind"].as<std::string>("") == "ClusterRole");
    YAML::Node role = findManifest(all, "ClusterRole", binding["roleRef"]["name"].as<std::string>(""));
    YAML::Node rules = role["rules"];
    for (const char* verb : {"list", "watch"}) {
      CAPTURE(verb);
      CHECK(grants(rules, "", "services", verb));
      CHECK(grants(rules, "", "pods", verb));
      CHECK(grants(rules, "", "namespaces", verb));
      CHECK(grants(rules, "discovery.k8s.io", "endpointslices", verb));
    }
    // Read-only: nothing that changes the cluster.
    for (const char* verb : {"create", "update", "patch", "delete"}) {
      for (const char* resource : {"services", "pods", "namespaces"}) CHECK_FALSE(grants(rules, "", resource, verb));
    }
    bound = true;
  }
  CHECK_MESSAGE(bound, "no ClusterRoleBinding binds ServiceAccount " << account);
}

TEST_CASE("the feed sidecar writes the file the Corefile's `objects` reads, through a shared emptyDir") {
  auto all = manifests();
  std::string objects = objectsPath(all);
  YAML::Node spec = podSpec(all);
  YAML::Node dns = dnsContainer(all);
  YAML::Node feed = feedContainer(all);

  YAML::Node dnsMount = mountHolding(dns, objects);
  CHECK(dnsMount["readOnly"].as<bool>(false));
  std::string volume = dnsMount["name"].as<std::string>();
  CHECK(volumeNamed(spec, volume)["emptyDir"].IsDefined());
  std::string relative = objects.substr(dnsMount["mountPath"].as<std::string>().size());

  // The feed mounts the same volume, writable, and writes OBJECTS_FILE at the same place in it.
  YAML::Node feedMount;
  for (const auto& m : feed["volumeMounts"]) {
    if (m["name"].as<std::string>() == volume) feedMount.reset(m);
  }
  REQUIRE_MESSAGE(feedMount.IsDefined(), "the feed does not mount volume " << volume);
  CHECK_FALSE(feedMount["readOnly"].as<bool>(false));
  CHECK(envValue(feed, "OBJECTS_FILE") == feedMount["mountPath"].as<std::string>() + relative);

  // What it runs: the listing the plugin expects, renamed into place (the feed test runs it).
  std::string script;
  for (const auto& s : stringList(feed["command"])) script += s + " ";
  for (const auto& s : stringList(feed["args"])) script += s + " ";
  CHECK(script.find("kubectl get services,endpointslices,pods,namespaces -A -o json") != std::string::npos);
  CHECK(script.find("mv -f \"$tmp\" \"$OBJECTS_FILE\"") != std::string::npos);
  int interval = std::stoi(envValue(feed, "FEED_INTERVAL"));
  CHECK(interval >= 1);
  CHECK(interval <= 30);
}

TEST_CASE("the pod runs with the least privilege the image needs, and the add-on's scheduling") {
  auto all = manifests();
  YAML::Node spec = podSpec(all);
  YAML::Node pod = spec["securityContext"];
  // The Dockerfile's numeric user, not root.
  long user = dockerfileUser();
  CHECK(user > 0);
  CHECK(pod["runAsNonRoot"].as<bool>(false));
  CHECK(pod["runAsUser"].as<long>(-1) == user);

  YAML::Node dns = dnsContainer(all);
  YAML::Node sc = dns["securityContext"];
  CHECK(sc["allowPrivilegeEscalation"].IsDefined());
  CHECK_FALSE(sc["allowPrivilegeEscalation"].as<bool>(true));
  CHECK(sc["readOnlyRootFilesystem"].as<bool>(false));
  CHECK(stringList(sc["capabilities"]["drop"]) == std::vector<std::string>{"ALL"});
  // The binary's file capability needs NET_BIND_SERVICE in the bounding set, and nothing else.
  CHECK(stringList(sc["capabilities"]["add"]) == std::vector<std::string>{"NET_BIND_SERVICE"});

  YAML::Node feed = feedContainer(all);
  YAML::Node fsc = feed["securityContext"];
  CHECK(fsc["allowPrivilegeEscalation"].IsDefined());
  CHECK_FALSE(fsc["allowPrivilegeEscalation"].as<bool>(true));
  CHECK(fsc["readOnlyRootFilesystem"].as<bool>(false));
  CHECK(stringList(fsc["capabilities"]["drop"]) == std::vector<std::string>{"ALL"});
  CHECK_FALSE(fsc["capabilities"]["add"].IsDefined());

  // The standard CoreDNS resources.
  CHECK(dns["resources"]["limits"]["memory"].as<std::string>("") == "170Mi");
  CHECK(dns["resources"]["requests"]["cpu"].as<std::string>("") == "100m");
  CHECK(dns["resources"]["requests"]["memory"].as<std::string>("") == "70Mi");
  CHECK(spec["dnsPolicy"].as<std::string>("") == "Default");
  CHECK(spec["priorityClassName"].as<std::string>("") == "system-cluster-critical");
}

TEST_CASE("the Dockerfile builds on Debian 12 with .ci/deps's packages and exposes what the Corefiles serve") {
  auto stages = dockerfile();
  REQUIRE(stages.size() == 2);
  CHECK(stages[0].image == "debian:bookworm");
  CHECK(!stages[0].name.empty());
  CHECK(stages[1].image == "debian:bookworm-slim");

  // The build stage installs exactly the build packages .ci/deps installs.
  std::set<std::string> build;
  for (const Instruction* run : stages[0].all("RUN")) {
    for (auto& p : aptPackages(*run, "install")) build.insert(p);
  }
  auto deps = shellArray(readText(sourcePath(".ci/deps")), "build_pkgs");
  CHECK(build == std::set<std::string>(deps.begin(), deps.end()));

  // EXPOSE: exactly the ports the image's own Corefile serves (DNS on UDP and TCP), and every
  // port the Deployment's DNS container declares.
  std::set<std::string> exposed;
  for (const Instruction* e : stages[1].all("EXPOSE")) {
    for (auto& w : words(e->args)) exposed.insert(w.find('/') == std::string::npos ? w + "/tcp" : w);
  }
  ImageCorefile image = imageCorefile(imageTree());
  ServedPorts ports = buildAndListPorts(image.rooted, image.path);
  CHECK(ports.warnings.empty());
  for (const auto& w : ports.warnings) MESSAGE(w);
  std::set<std::string> served;
  for (int p : ports.dns) {
    served.insert(std::to_string(p) + "/udp");
    served.insert(std::to_string(p) + "/tcp");
  }
  for (const auto& [path, port] : ports.http) served.insert(std::to_string(port) + "/tcp");
  CHECK(exposed == served);
  for (const auto& p : dnsContainer(manifests())["ports"]) {
    std::string proto = p["protocol"].as<std::string>("TCP");
    std::transform(proto.begin(), proto.end(), proto.begin(), ::tolower);
    std::string port = std::to_string(p["containerPort"].as<int>()) + "/" + proto;
    CHECK_MESSAGE(exposed.count(port), "the Deployment's port " << port << " is not EXPOSEd");
  }

  // A numeric user that is not root, set after everything that needs root.
  CHECK(dockerfileUser() > 0);
  CHECK(stages[1].instructions.back().keyword != "RUN");
  bool afterUser = false;
  for (const auto& i : stages[1].instructions) {
    if (i.keyword == "USER") afterUser = true;
    if (afterUser) CHECK_MESSAGE(i.keyword != "RUN", "Dockerfile:" << i.line << ": RUN after USER");
  }
  CHECK(execForm(stages[1].one("ENTRYPOINT")) == std::vector<std::string>{"/usr/bin/moat"});
}
