#include "lint/check.hpp"

#include "conf/parser.hpp"
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
}

bool lintFile(const std::string& path, std::vector<Finding>& out, std::string& why) {
  const conf::FileSource files;
  if (files.isDirectory(path)) {
    why = "is a directory";
    return false;
  }
  if (!files.read(path, why)) return false;

  Findings findings;
  if (auto model = loadModel(path, findings)) runRules(*model, findings);
  std::vector<Finding> found = findings.take();
  sortFindings(found);
  out.insert(out.end(), found.begin(), found.end());
  return true;
}

}  // namespace moat::lint
