// Linting the Corefile inside a Kubernetes ConfigMap. CoreDNS's Deployment mounts the ConfigMap
// at /etc/coredns and runs `-conf /etc/coredns/Corefile`, so each data key is a file in that
// directory: the Corefile is linted under that name, its imports read the other keys (nothing
// from this machine's disk), and every finding is then moved to the ConfigMap's own lines.
#include "lint/check.hpp"
#include "lint/configmap.hpp"
#include "lint/configmap_mount.hpp"

namespace moat::lint {

namespace {

std::string describe(const ConfigMap& cm) {
  std::string out = "ConfigMap";
  if (!cm.name.empty()) out += " '" + (cm.nameSpace.empty() ? "" : cm.nameSpace + "/") + cm.name + "'";
  return out;
}

}  // namespace

void lintConfigMaps(const std::string& name, std::string_view text, std::vector<Finding>& out) {
  Findings findings;
  auto maps = readConfigMaps(text, name);
  if (!maps) {
    findings.add(maps.error(), "syntax/error");
    std::vector<Finding> found = findings.take();
    out.insert(out.end(), found.begin(), found.end());
    return;
  }
  for (const ConfigMap& cm : *maps) {
    const ConfigMapFile* corefile = nullptr;
    std::string keys;
    for (const ConfigMapFile& f : cm.files) {
      if (f.key == kCorefileKey) corefile = &f;
      keys += (keys.empty() ? "" : ", ") + f.key;
    }
    if (corefile == nullptr) {
      findings.add(cm.pos, "syntax/error",
                   describe(cm) + " has no Corefile key (CoreDNS runs -conf " + mounted(kCorefileKey) +
                       "); its data holds " + (keys.empty() ? std::string("nothing") : keys));
      continue;
    }
    const ConfigMapSource source(cm);
    std::vector<Finding> inner;
    lintCorefile(mounted(kCorefileKey), corefile->text, &source, inner);
    for (Finding& f : inner) {
      source.remap(name, f.pos);
      f.message = source.remapMessage(name, std::move(f.message));
      findings.add(f.pos, f.rule, std::move(f.message));
    }
  }
  std::vector<Finding> found = findings.take();
  sortFindings(found);
  out.insert(out.end(), found.begin(), found.end());
}

}  // namespace moat::lint
