// A Kubernetes ConfigMap is linted as the Corefile inside it, with positions in the ConfigMap's
// own lines, whether it comes as YAML or JSON, alone or in a List, and with imports of its
// other keys resolved.
#include <fstream>

#include "lint/configmap.hpp"
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_CASE("configmap: YAML from kubectl -o yaml, the Corefile a block scalar, positions in its lines") {
  const std::string yaml =
      "apiVersion: v1\n"
      "kind: ConfigMap\n"
      "metadata:\n"
      "  name: coredns\n"
      "  namespace: kube-system\n"
      "data:\n"
      "  Corefile: |\n"
      "    .:53 {\n"
      "        errors\n"
      "        forwrd . 192.0.2.1\n"
      "    }\n";
  CliRun run = runCli({"-"}, yaml);
  CHECK(run.code == 1);
  CHECK(lines(run.out) == std::vector<std::string>{
                              "<stdin>:10:9: error: unknown directive 'forwrd' (did you mean "
                              "'forward'?) [directive/unknown]"});
}

TEST_CASE("configmap: JSON from kubectl -o json, the Corefile one string with escapes") {
  const std::string json =
      "{\n"
      "  \"apiVersion\": \"v1\",\n"
      "  \"kind\": \"ConfigMap\",\n"
      "  \"metadata\": {\"name\": \"coredns\", \"namespace\": \"kube-system\"},\n"
      "  \"data\": {\n"
      "    \"Corefile\": \".:53 {\\n    errors\\n    forwrd . 192.0.2.1\\n}\\n\"\n"
      "  }\n"
      "}\n";
  CliRun run = runCli({"-"}, json);
  CHECK(run.code == 1);
  // Line 6; `forwrd` starts 41 characters into the line (the escapes count as written).
  CHECK(lines(run.out) == std::vector<std::string>{
                              "<stdin>:6:42: error: unknown directive 'forwrd' (did you mean "
                              "'forward'?) [directive/unknown]"});
}

TEST_CASE("configmap: imports read the ConfigMap's other keys, by glob, relative or absolute path") {
  for (const char* import : {"/etc/coredns/*.server", "extra.server", "/etc/coredns/extra.server"}) {
    CAPTURE(import);
    const std::string yaml = std::string(
                                 "kind: ConfigMap\n"
                                 "metadata:\n"
                                 "  name: coredns\n"
                                 "data:\n"
                                 "  Corefile: |\n"
                                 "    import ") + import + "\n"
                             "    .:53 {\n"
                             "        whoami\n"
                             "    }\n"
                             "  extra.server: |\n"
                             "    example.org:53 {\n"
                             "        whoam\n"
                             "    }\n";
    CliRun run = runCli({"-"}, yaml);
    CHECK(run.code == 1);
    CHECK(lines(run.out) == std::vector<std::string>{
                                "<stdin>:12:9: error: unknown directive 'whoam' (did you mean "
                                "'whoami'?) [directive/unknown]"});
  }
}

TEST_CASE("configmap: positions quoted inside messages move to the ConfigMap too") {
  const std::string yaml =
      "kind: ConfigMap\n"
      "data:\n"
      "  Corefile: |\n"
      "    .:53 {\n"
      "        cache\n"
      "        cache\n"
      "    }\n";
  CliRun run = runCli({"-"}, yaml);
  CHECK(lines(run.out) == std::vector<std::string>{
                              "<stdin>:6:9: error: plugin 'cache' may appear only once per server "
                              "block (first at <stdin>:5:9) [directive/duplicate]"});
}

TEST_CASE("configmap: a path that looks like a position but is not one stays as written") {
  // The import's text comes back in the message; its digits are the user's, of any length.
  const std::string yaml =
      "kind: ConfigMap\n"
      "data:\n"
      "  Corefile: |\n"
      "    import /etc/coredns/x:99999999999999999999:1\n";
  CliRun run = runCli({"-"}, yaml);
  CHECK(run.code == 1);
  CHECK(run.out.find("/etc/coredns/x:99999999999999999999:1") != std::string::npos);
  CHECK(run.out.rfind("<stdin>:4:", 0) == 0);
}

TEST_CASE("configmap: a List of ConfigMaps (kubectl get configmap a b): each Corefile is linted") {
  TempDir dir;
  const std::string path = dir.write("cms.yaml",
                                     "apiVersion: v1\n"
                                     "kind: List\n"
                                     "items:\n"
                                     "- apiVersion: v1\n"
                                     "  kind: ConfigMap\n"
                                     "  metadata:\n"
                                     "    name: coredns\n"
                                     "  data:\n"
                                     "    Corefile: |\n"
                                     "      .:53 {\n"
                                     "          whoam\n"
                                     "      }\n"
                                     "- kind: ConfigMap\n"
                                     "  metadata: {name: other}\n"
                                     "  data:\n"
                                     "    Corefile: \". {\\n  forwrd . 192.0.2.1\\n}\\n\"\n");
  CliRun run = runCli({path});  // a file, not only standard input
  CHECK(run.code == 1);
  CHECK(lines(run.out) ==
        std::vector<std::string>{
            path + ":11:11: error: unknown directive 'whoam' (did you mean 'whoami'?) [directive/unknown]",
            path + ":16:23: error: unknown directive 'forwrd' (did you mean 'forward'?) [directive/unknown]"});
}

TEST_CASE("configmap: no Corefile key, invalid YAML, a data value that is not text: syntax/error") {
  CliRun none = runCli({"-"}, "kind: ConfigMap\nmetadata:\n  name: x\ndata:\n  other: y\n");
  CHECK(none.code == 1);
  CHECK(lines(none.out) ==
        std::vector<std::string>{"<stdin>:1:1: error: ConfigMap 'x' has no Corefile key (CoreDNS runs -conf "
                                 "/etc/coredns/Corefile); its data holds other [syntax/error]"});

  CliRun broken = runCli({"-"}, "kind: ConfigMap\ndata: [\n");
  CHECK(broken.code == 1);
  CHECK(broken.out.rfind("<stdin>:", 0) == 0);
  CHECK(broken.out.find(": error: invalid YAML: ") != std::string::npos);

  CliRun map = runCli({"-"}, "kind: ConfigMap\ndata:\n  Corefile:\n    a: b\n");
  CHECK(lines(map.out) == std::vector<std::string>{
                              "<stdin>:4:5: error: ConfigMap data 'Corefile' must be a string, got a "
                              "map [syntax/error]"});
}

TEST_CASE("configmap: the shipped docker/kubernetes/configmap.yaml, findings on its own lines") {
  const std::string path = std::string(MOAT_SOURCE_DIR) + "/docker/kubernetes/configmap.yaml";
  std::vector<Finding> findings;
  std::string why;
  REQUIRE(lintFile(path, findings, why));
  CAPTURE(describe(findings));
  // In a pod the objects feed writes this file; here it does not exist. The warning says so
  // at the kubernetes line of the ConfigMap (line 19, the Corefile's line 7, indented 4).
  auto missing = withRule(findings, "config/warning");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].pos.file == path);
  CHECK(missing[0].pos.line == 19);
  CHECK(missing[0].pos.col == 9);
  for (const Finding& f : findings) CHECK(f.pos.file == path);
}

TEST_CASE("SourceMap: literal blocks map character by character, other styles to their start") {
  auto one = [](const std::string& yaml) {
    auto maps = readConfigMaps(yaml, "cm");
    REQUIRE(maps);
    REQUIRE(maps->size() == 1);
    REQUIRE((*maps)[0].files.size() == 1);
    return (*maps)[0].files[0];
  };
  // An explicit indentation indicator: the block is indented 2 more than the key.
  ConfigMapFile explicitIndent = one("kind: ConfigMap\ndata:\n  Corefile: |2\n      .:53 {\n    }\n");
  CHECK(explicitIndent.text == "  .:53 {\n}\n");
  REQUIRE(explicitIndent.map.exact());
  CHECK(explicitIndent.map.map(1, 3).line == 4);
  CHECK(explicitIndent.map.map(1, 3).col == 7);
  CHECK(explicitIndent.map.map(2, 1).line == 5);
  CHECK(explicitIndent.map.map(2, 1).col == 5);

  ConfigMapFile strip = one("kind: ConfigMap\ndata:\n  Corefile: |-\n    a\n\n    b\n");
  CHECK(strip.text == "a\n\nb");
  REQUIRE(strip.map.exact());
  CHECK(strip.map.map(3, 1).line == 6);
  CHECK(strip.map.map(3, 1).col == 5);
  CHECK(strip.map.map(3, 2).col == 6);  // just past the end of a line

  ConfigMapFile folded = one("kind: ConfigMap\ndata:\n  Corefile: >\n    a\n    b\n");
  CHECK_FALSE(folded.map.exact());
  CHECK(folded.map.map(2, 1).line == 3);
  CHECK(folded.map.map(2, 1).col == 13);  // the '>'

  // Non-ASCII characters are one column each, as the Corefile lexer counts them.
  ConfigMapFile utf8 = one("kind: ConfigMap\ndata:\n  Corefile: \"# é\\n x\"\n");
  REQUIRE(utf8.map.exact());
  CHECK(utf8.map.map(2, 2).line == 3);
  CHECK(utf8.map.map(2, 2).col == 20);
}

TEST_CASE("looksLikeConfigMap: a kind line naming ConfigMap, in YAML or JSON, never a Corefile") {
  CHECK(looksLikeConfigMap("apiVersion: v1\nkind: ConfigMap\n"));
  CHECK(looksLikeConfigMap("{\"kind\": \"ConfigMap\"}"));
  CHECK(looksLikeConfigMap("kind: List\nitems:\n- kind: ConfigMap\n"));
  CHECK_FALSE(looksLikeConfigMap(". {\n  whoami\n}\n"));
  CHECK_FALSE(looksLikeConfigMap("# kind: ConfigMap\n. {\n  whoami\n}\n"));
  CHECK_FALSE(looksLikeConfigMap("kind.example {\n  hosts ConfigMap.hosts\n}\n"));
}

}  // namespace
}  // namespace moat::lint::testing
