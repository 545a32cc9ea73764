#include "lint/check.hpp"

#include "lint/configmap.hpp"
#include "lint/model.hpp"
#include "lint/rules.hpp"

namespace moat::lint {

void runRules(const Model& model, Findings& findings) {
  checkLeaks(model, findings);
  checkForwards(model, findings);
  checkChains(model, findings);
  checkKubernetes(model, findings);
  checkListeners(model, findings);
  checkHostsEntries(model, findings);
  checkViews(model, findings);
  checkRewrites(model, findings);
}

void lintCorefile(const std::string& path, std::string_view text, const conf::Source* source,
                  std::vector<Finding>& out) {
  Findings findings;
  if (auto model = loadModel(path, text, source, findings)) runRules(*model, findings);
  std::vector<Finding> found = findings.take();
  sortFindings(found);
  out.insert(out.end(), found.begin(), found.end());
}

void lintText(const std::string& name, std::string_view text, std::vector<Finding>& out) {
  if (looksLikeConfigMap(text)) return lintConfigMaps(name, text, out);
  lintCorefile(name, text, nullptr, out);
}

bool lintFile(const std::string& path, std::vector<Finding>& out, std::string& why) {
  const conf::FileSource files;
  if (files.isDirectory(path)) {
    why = "is a directory";
    return false;
  }
  auto text = files.read(path, why);
  if (!text) return false;
  lintText(path, *text, out);
  return true;
}

}  // namespace moat::lint
