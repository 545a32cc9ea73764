// The rules, grouped by theme; each adds its findings for one loaded Corefile. Rule ids and
// their documentation: finding.cpp's catalogue and lint/README.md.
#pragma once

#include "lint/finding.hpp"
#include "lint/model.hpp"

namespace moat::lint {

// rules_leak.cpp: leak/unscoped-forward, leak/private-public-upstream, moat/private-builtin.
void checkLeaks(const Model& model, Findings& findings);

// rules_forward.cpp: forward/loop, forward/unreachable.
void checkForwards(const Model& model, Findings& findings);

// rules_chain.cpp: plugin/unreachable, order/written, ttl/range.
void checkChains(const Model& model, Findings& findings);

// rules_kubernetes.cpp: kubernetes/reverse-fallthrough, kubernetes/api-option,
// kubernetes/no-probes (kubernetes/upstream comes from setup, see model.cpp).
void checkKubernetes(const Model& model, Findings& findings);

// rules_listen.cpp: block/duplicate, http/address-clash.
void checkListeners(const Model& model, Findings& findings);

// rules_hosts.cpp: hosts/entry-typo.
void checkHostsEntries(const Model& model, Findings& findings);

// rules_view.cpp: view/shadowed, view/never, view/split-horizon-leak, acl/unreachable-rule.
void checkViews(const Model& model, Findings& findings);

// rules_rewrite.cpp: rewrite/private-escape.
void checkRewrites(const Model& model, Findings& findings);

// Every rule above.
void runRules(const Model& model, Findings& findings);

}  // namespace moat::lint
