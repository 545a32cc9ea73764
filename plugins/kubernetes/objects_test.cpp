// Loader tests: input shapes (List, multi-document, single object, JSON), directories and the
// ConfigMap `..data` layout, and error positions.
#include "plugins/kubernetes/objects.hpp"

#include <doctest/doctest.h>

#include <filesystem>

#include "plugins/kubernetes/objects_test_util.hpp"

namespace moat::plugins::kubernetes {
namespace {

using testing::ip;
using testing::load;
using testing::loadError;
using testing::TempDir;

// What `kubectl get services,endpointslices,pods,namespaces,configmaps -A -o yaml` prints,
// trimmed.
const char* kList = R"(apiVersion: v1
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: web
    namespace: default
  spec:
    clusterIP: 10.96.0.20
    ports:
    - name: http
      port: 80
      protocol: TCP
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: web-abcde
    namespace: default
    labels:
      kubernetes.io/service-name: web
  addressType: IPv4
  endpoints:
  - addresses: ["10.1.0.5"]
    conditions: {ready: true}
  ports:
  - {name: http, port: 8080, protocol: TCP}
- apiVersion: v1
  kind: Pod
  metadata: {name: web-0, namespace: default}
  status: {podIP: 10.1.0.5}
- apiVersion: v1
  kind: Namespace
  metadata: {name: kube-system}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cm, namespace: default}
  data: {a: b}
kind: List
metadata:
  resourceVersion: ""
)";

void checkListFixture(const ClusterPtr& c) {
  const Service* web = c->findService("default", "web");
  REQUIRE(web);
  CHECK(web->clusterIPs == std::vector<Ip>{ip("10.96.0.20")});
  REQUIRE(web->endpoints.size() == 1);
  CHECK(web->endpoints[0].addresses.size() == 1);
  CHECK(web->endpoints[0].ports[0].port == 8080);
  CHECK(c->hasPod("default", ip("10.1.0.5")));
  CHECK(c->hasNamespace("kube-system"));
  CHECK(c->stats().skipped == 1);
  CHECK(c->stats().services == 1);
  CHECK(c->stats().pods == 1);
}

TEST_CASE("objects: a YAML List") { checkListFixture(load(kList)); }

TEST_CASE("objects: the same List as JSON, and JSON shapes") {
  const char* json = R"({
    "apiVersion": "v1",
    "items": [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "web", "namespace": "default"},
         "spec": {"clusterIP": "10.96.0.20",
                  "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "web-abcde", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": "web"}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.1.0.5"], "conditions": {"ready": true}}],
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "default"},
         "status": {"podIP": "10.1.0.5"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "b"}}
    ],
    "kind": "List",
    "metadata": {"resourceVersion": ""}
})";
  checkListFixture(load(json, "objects.json"));
  // The file name does not matter: the first character decides.
  checkListFixture(load(std::string("\xEF\xBB\xBF \n") + json, "objects.yaml"));

  SUBCASE("a top-level array of objects") {
    auto c =
        load(R"([{"kind": "Service", "metadata": {"name": "a"}, "spec": {"clusterIP": "10.0.0.1"}},
                      {"kind": "Namespace", "metadata": {"name": "b"}}])");
    CHECK(c->findService("default", "a"));
    CHECK(c->hasNamespace("b"));
  }
  SUBCASE("a typed list from the API: items carry no kind") {
    auto c = load(R"({"kind": "ServiceList", "apiVersion": "v1", "metadata": {},
                      "items": [{"metadata": {"name": "a", "namespace": "x"},
                                 "spec": {"clusterIP": "10.0.0.1"}}]})");
    CHECK(c->findService("x", "a"));
  }
  SUBCASE("escapes, numbers and literals") {
    auto c = load(R"({"kind": "Service", "metadata": {"name": "w\u0065b", "namespace": "d"},
                      "spec": {"clusterIP": null, "publishNotReadyAddresses": false,
                               "ports": [{"port": 53, "protocol": "UDP"}]}})");
    const Service* s = c->findService("d", "web");
    REQUIRE(s);
    CHECK(s->clusterIPs.empty());
    CHECK(s->ports[0].port == 53);
  }
}

TEST_CASE("objects: multi-document YAML and single objects") {
  auto c = load(R"(---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: one}
spec: {clusterIP: 10.0.0.1}
---
# only a comment
---
apiVersion: v1
kind: List
items:
- {kind: Namespace, metadata: {name: two}}
---
kind: Namespace
metadata: {name: three}
...
)");
  CHECK(c->findService("one", "a"));
  CHECK(c->hasNamespace("two"));
  CHECK(c->hasNamespace("three"));

  CHECK(load("kind: Namespace\nmetadata:\n  name: solo\n")->hasNamespace("solo"));
  CHECK(load("")->services().empty());
  CHECK(load("# nothing\n")->services().empty());
}

TEST_CASE("objects: YAML anchors and aliases within an object") {
  auto c = load(R"(kind: List
items:
- kind: Service
  metadata: {name: a, namespace: n}
  spec:
    clusterIP: 10.0.0.1
    ports:
    - &p {name: dns, port: 53, protocol: UDP}
    - *p
)");
  CHECK(c->findService("n", "a")->ports.size() == 2);
}

TEST_CASE("objects: errors name file:line:col and why") {
  SUBCASE("YAML syntax (yaml-cpp marks are 0-based; reported 1-based)") {
    CHECK(loadError("kind: Service\nmetadata:\n  name: [a, b\n") ==
          "objects.yaml:4:1: invalid YAML: end of sequence flow not found");
    CHECK(loadError("a: b\n c: d\n") == "objects.yaml:2:3: invalid YAML: illegal map value");
  }
  // Found while writing fuzz/k8s_objects (fuzz/regressions/k8s_objects/): every alias copied
  // its anchor, so a few nested ones ("billion laughs") asked for gigabytes from 500 bytes.
  SUBCASE("YAML: aliases cannot expand an object without bound") {
    std::string text = "kind: Service\nmetadata: {name: a, namespace: n}\nx:\n"
                       "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 8; ++i) {
      text += "  a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
      for (int k = 0; k < 10; ++k) text += (k ? ", *a" : "*a") + std::to_string(i - 1);
      text += "]\n";
    }
    CHECK(loadError(text) ==
          "objects.yaml:8:47: aliases expand this object to more than 100000 nodes");
    // Ordinary use stays well inside the bound.
    CHECK(loadError("kind: Service\nmetadata: {name: a, namespace: n}\nspec:\n"
                    "  ports:\n  - &p {name: dns, port: 53}\n  - *p\n  - *p\n") == "");
  }
  // Found by fuzz/k8s_objects (fuzz/regressions/k8s_objects/): yaml-cpp returns an empty
  // document for ever without reading on, and the load never ended.
  SUBCASE("YAML: a stray ',' at the top level ends the load instead of hanging it") {
    CHECK(loadError(", \"d") ==
          "objects.yaml:1:1: invalid YAML: unexpected ',' where a document should start");
    CHECK(loadError("kind: Namespace\nmetadata: {name: a}\n---\n,\n") ==
          "objects.yaml:4:1: invalid YAML: unexpected ',' where a document should start");
  }
  SUBCASE("JSON syntax: line and column from the offset") {
    CHECK(loadError("{\n  \"kind\": \"Service\",\n  \"metadata\": {\"name\": x}\n}\n", "s.json") ==
          "s.json:3:24: invalid JSON: syntax error at 'x'");
    CHECK(loadError("{\"kind\": \"Service\"", "s.json") ==
          "s.json:1:19: invalid JSON: incomplete JSON at end of input");
    CHECK(loadError("{\"kind\": \"X\"}\n x", "s.json") ==
          "s.json:2:2: invalid JSON: extra data after the document");
    CHECK(loadError("{} {}", "s.json") ==
          "s.json:1:4: invalid JSON: extra data after the document");
  }
  SUBCASE("a bad field points at its value") {
    CHECK(
        loadError("kind: Service\nmetadata: {name: a}\nspec:\n  clusterIP: 10.0.0.300\n") ==
        "objects.yaml:4:14: Service default/a: spec.clusterIP: '10.0.0.300' is not an IP address");
    CHECK(loadError("{\"items\": [\n {\"kind\": \"Service\", \"metadata\": {\"name\": \"a\"},\n"
                    "  \"spec\": {\"ports\": [{\"port\": 70000}]}}]}",
                    "s.json") ==
          "s.json:3:31: Service default/a: port: expected a port number 1-65535, got '70000'");
    CHECK(loadError("kind: Pod\nmetadata: {name: p}\nstatus:\n  podIPs: {ip: 1}\n") ==
          "objects.yaml:4:11: Pod default/p: status.podIPs: expected a list");
  }
  SUBCASE("a missing field points at the object") {
    CHECK(loadError("kind: List\nitems:\n- kind: Service\n  metadata:\n    namespace: x\n") ==
          "objects.yaml:5:5: Service: metadata.name: missing");
    CHECK(loadError("{\"items\": [\n  {\"kind\": \"Pod\"}]}", "p.json") ==
          "p.json:2:3: Pod: metadata: missing");
    CHECK(loadError("items:\n- metadata: {name: a}\n") == "objects.yaml:2:3: object has no kind");
    CHECK(loadError("just text\n") ==
          "objects.yaml:1:1: expected a Kubernetes object or a List, got a scalar");
  }
}

TEST_CASE("objects: directories load every object file in name order") {
  TempDir dir;
  dir.write("b.yaml",
            "kind: Service\nmetadata: {name: s, namespace: n}\nspec: {clusterIP: 10.0.0.2}\n");
  dir.write("a.json", R"({"kind": "Service", "metadata": {"name": "s", "namespace": "n"},
                          "spec": {"clusterIP": "10.0.0.1"}})");
  dir.write("c.YML", "kind: Namespace\nmetadata: {name: c}\n");
  dir.write("notes.txt", "not objects");
  dir.write(".hidden.yaml", "broken: [");
  std::filesystem::create_directory(dir.file("sub.yaml"));  // a directory is not a file

  auto files = objectFiles({dir.path()});
  REQUIRE(files);
  CHECK(*files ==
        std::vector<std::string>{dir.file("a.json"), dir.file("b.yaml"), dir.file("c.YML")});

  auto c = loadObjects({dir.path()}, 7);
  REQUIRE(c);
  CHECK((*c)->serial() == 7);
  // b.yaml comes after a.json, so its version of n/s wins.
  CHECK((*c)->findService("n", "s")->clusterIPs == std::vector<Ip>{ip("10.0.0.2")});
  CHECK((*c)->hasNamespace("c"));

  SUBCASE("a file given by name loads whatever its extension") {
    auto t = loadObjects({dir.file("c.YML"), dir.file("b.yaml")}, 1);
    REQUIRE(t);
    CHECK((*t)->services().size() == 1);
  }
  SUBCASE("a missing path is an error for the whole load") {
    auto t = loadObjects({dir.path(), dir.file("nope.yaml")}, 1);
    REQUIRE_FALSE(t);
    CHECK(t.error().str() == dir.file("nope.yaml") + ": No such file or directory");
  }
  SUBCASE("one broken file fails the load with its position") {
    dir.write("d.yaml", "kind: Namespace\nmetadata: {name: [}\n");
    auto t = loadObjects({dir.path()}, 1);
    REQUIRE_FALSE(t);
    CHECK(t.error().pos.file == dir.file("d.yaml"));
    CHECK(t.error().pos.line == 2);
  }
}

TEST_CASE("objects: a ConfigMap volume (..data symlink layout)") {
  TempDir dir;
  namespace fs = std::filesystem;
  dir.write("..2024_05_01_v1/objects.yaml", "kind: Namespace\nmetadata: {name: one}\n");
  fs::create_directory_symlink("..2024_05_01_v1", dir.file("..data"));
  fs::create_symlink("..data/objects.yaml", dir.file("objects.yaml"));

  auto files = objectFiles({dir.path()});
  REQUIRE(files);
  CHECK(*files == std::vector<std::string>{dir.file("objects.yaml")});
  auto c = loadObjects({dir.path()}, 1);
  REQUIRE(c);
  CHECK((*c)->hasNamespace("one"));

  // kubelet's update: a new timestamped directory, then ..data swapped by rename.
  dir.write("..2024_05_01_v2/objects.yaml", "kind: Namespace\nmetadata: {name: two}\n");
  fs::create_directory_symlink("..2024_05_01_v2", dir.file("..data_tmp"));
  fs::rename(dir.file("..data_tmp"), dir.file("..data"));
  fs::remove_all(dir.file("..2024_05_01_v1"));
  c = loadObjects({dir.path()}, 1);
  REQUIRE(c);
  CHECK((*c)->hasNamespace("two"));
  CHECK_FALSE((*c)->hasNamespace("one"));
}

TEST_CASE("objects: a JSON file larger than one read chunk, and an error near its end") {
  TempDir dir;
  std::string text = "{\"kind\": \"List\", \"items\": [\n";
  const int count = 20000;  // about 1.5 MB: the parser is fed in 1 MiB chunks
  for (int i = 0; i < count; ++i)
    text += "  {\"kind\": \"Service\", \"metadata\": {\"name\": \"s" + std::to_string(i) +
            "\", \"namespace\": \"n\"}, \"spec\": {\"clusterIP\": \"10.0." +
            std::to_string(i / 200) + "." + std::to_string(i % 200) + "\"}},\n";
  text += "  {\"kind\": \"Namespace\", \"metadata\": {\"name\": \"last\"}}\n]}\n";
  REQUIRE(text.size() > (size_t{1} << 20));
  auto c = loadObjects({dir.write("big.json", text)}, 1);
  REQUIRE(c);
  CHECK((*c)->services().size() == count);
  CHECK((*c)->hasNamespace("last"));
  CHECK((*c)->findService("n", "s19999")->clusterIPs[0] == ip("10.0.99.199"));

  text.replace(text.rfind("10.0.99.199"), 11, "10.0.99.999");
  const std::string line = "  {\"kind\": \"Service\", \"metadata\": {\"name\": \"s19999\", ";
  auto bad = loadObjects({dir.write("big.json", text)}, 1);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().str() ==
        dir.file("big.json") + ":" + std::to_string(count + 1) + ":" +
            std::to_string(line.size() + 42) +
            ": Service n/s19999: spec.clusterIP: '10.0.99.999' is not an IP address");
}

TEST_CASE("objects: describeLoad") {
  CHECK(
      describeLoad(load(kList)->stats()) ==
      "loaded 1 services, 1 endpoint sets (1 addresses), 1 pods, 2 namespaces, 1 skipped objects");
}

}  // namespace
}  // namespace moat::plugins::kubernetes
