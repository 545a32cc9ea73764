#include "lint/finding.hpp"

#include <algorithm>
#include <array>
#include <tuple>

namespace moat::lint {

namespace {

using S = Severity;

// The order here is the order SARIF lists them and the README documents them.
constexpr auto kRules = std::to_array<RuleInfo>({
    {"syntax/error", S::Error, "The Corefile does not parse",
     "The lexer, the parser or an import failed: unbalanced braces, an unterminated quote, an "
     "import that matches nothing readable. Nothing after the error can be checked."},
    {"directive/unknown", S::Error, "Unknown directive",
     "A directive that is neither a Moat plugin nor any CoreDNS plugin, most likely a typo; the "
     "message suggests the closest plugin name."},
    {"directive/unimplemented", S::Error, "CoreDNS plugin Moat does not implement",
     "A real CoreDNS plugin that Moat lacks. The server refuses to start with it, so the block "
     "must do without it."},
    {"directive/ignored", S::Warning, "Plugin ignored by Moat",
     "debug and pprof are accepted and ignored: they change nothing about answers."},
    {"directive/duplicate", S::Error, "Plugin repeated in a block",
     "A plugin that may appear once per server block (CoreDNS's ErrOnce) is written twice."},
    {"option/unknown", S::Error, "Unknown plugin option",
     "An option or property the plugin does not know, reported by the plugin's own setup, with "
     "a did-you-mean when a known option is close."},
    {"config/invalid", S::Error, "Invalid configuration",
     "Any other error the server would report at start: a bad argument, value, address, zone or "
     "upstream, a missing resolv.conf, a bad server key."},
    {"config/warning", S::Warning, "Start-up warning",
     "A warning the server would print at start and no more specific rule covers (a hosts file "
     "that does not exist yet, kubernetes without objects, an except outside FROM)."},
    {"leak/unscoped-forward", S::Error, "Local names fall through to an unscoped forward",
     "hosts or kubernetes serve names in a zone that is not private, fall through for it, and "
     "a forward whose scope is wider than that zone sends what they do not answer upstream "
     "(typically to a public resolver, which answers NXDOMAIN). Declare the zone private, or "
     "scope a forward to it if a site resolver must answer it."},
    {"leak/private-public-upstream", S::Warning, "Private zone forwarded to a public upstream",
     "A forward scoped to a private zone uses an upstream that a forward for the root zone also "
     "uses: that upstream is probably a public resolver, which cannot answer private names."},
    {"forward/loop", S::Error, "Forward loops back",
     "Queries sent to an upstream come back to the same forward (followed through this server's "
     "own listeners and the blocks they reach), or the upstream is the systemd-resolved stub "
     "127.0.0.53, or a resolv.conf that lists only loopback addresses."},
    {"forward/unreachable", S::Warning, "Forward stanza can never match",
     "A forward whose FROM lies outside every zone of its block, or which an earlier forward of "
     "the block takes all names from."},
    {"plugin/unreachable", S::Warning, "Plugin never sees a query",
     "hosts, kubernetes or file without fallthrough answer every name of the block, so the plugins "
     "that run after them never see a query."},
    {"order/written", S::Warning, "Written order differs from execution order",
     "Plugins run in a fixed order (CoreDNS's plugin.cfg), not the Corefile's; the block is "
     "written in another order, which suggests a different behaviour than it has."},
    {"ttl/range", S::Warning, "TTL out of the useful range",
     "A TTL of 0 (answers are never cached by clients) or above 3600 seconds (stale answers "
     "for over an hour)."},
    {"http/address-clash", S::Error, "HTTP address clash",
     "health, ready and prometheus of different kinds on the same host:port, or an HTTP "
     "endpoint on a port the DNS server listens on."},
    {"kubernetes/reverse-fallthrough", S::Warning, "Reverse zones without fallthrough",
     "kubernetes serves in-addr.arpa or ip6.arpa zones without falling through for them, so "
     "PTR queries for addresses outside the cluster get NXDOMAIN instead of going on."},
    {"kubernetes/upstream", S::Warning, "Removed kubernetes option `upstream`",
     "CoreDNS removed `upstream`; Moat ignores it. ExternalName targets resolve through Moat's "
     "own chain, where the private-zone egress check applies."},
    {"kubernetes/api-option", S::Info, "Kubernetes API option a stub cannot honour",
     "An option that steers CoreDNS's Kubernetes API client (endpoint, tls, kubeconfig, "
     "apiserver_*, labels, namespace_labels, startup_timeout). Moat reads the cluster from "
     "`objects` files and ignores it."},
    {"kubernetes/no-probes", S::Info, "Kubernetes without health or ready",
     "A Corefile that serves kubernetes has no health or no ready endpoint, so a Deployment's "
     "liveness or readiness probe has nothing to ask."},
    {"zone/syntax", S::Error, "Zone file does not load",
     "A record of a `file` zone that ldns cannot parse, an $INCLUDE that cannot be read, NSEC3 "
     "records (not supported, as in CoreDNS): the server refuses to start, or keeps the old "
     "zone on reload. Reported at the zone file's line."},
    {"zone/no-soa", S::Error, "Zone file without SOA",
     "The zone file has no SOA record at the zone's origin, often because the directive names no "
     "zone and the block's zone is not the file's (`. { file db.example.org }`)."},
    {"zone/cname-and-other-data", S::Error, "CNAME beside other data",
     "A name with a CNAME and other records (RFC 1034 §3.6.2): the other records are never "
     "served. named-checkzone refuses the zone."},
    {"zone/out-of-zone", S::Warning, "Record outside the zone",
     "A record whose owner is not at or below the zone's origin; it is left out when loading, "
     "as NSD does."},
    {"zone/missing-glue", S::Error, "Name server without an address",
     "An NS record whose target lies inside the zone (or inside the delegation it serves) and "
     "has no A or AAAA record in the file: nobody can reach that server."},
    {"zone/below-delegation", S::Warning, "Data hidden below a delegation",
     "A record below a zone cut that is not glue for it: queries get the referral, never the "
     "record (occluded data)."},
    {"leak/private-delegation", S::Warning, "Private zone delegated off the machine",
     "A `file` zone delegates a name under a private zone to a name server that is not on this "
     "machine (or whose address the zone does not give): clients following the referral send "
     "private names to it."},
    {"moat/private-builtin", S::Info, "Moat keeps built-in private zones local",
     "The forward's scope covers zones Moat treats as private with no directive (local., "
     "internal., home.arpa., private reverse zones...). CoreDNS would forward those names; Moat "
     "answers them locally. Scope a forward to the zone or write `private off` to forward them."},
    {"rewrite/private-escape", S::Warning, "rewrite maps a private name outside its zone",
     "A rewrite name rule (exact or suffix) maps names under a private zone to names outside it. "
     "Moat's egress check tests the name the client asked as well as the rewritten one, so those "
     "names still never leave; CoreDNS would forward the rewritten name. Rewrite within the zone, "
     "or scope a forward to the private zone if a site resolver must answer it."},
    {"hosts/entry-typo", S::Warning, "hosts line meant as an option",
     "A line inside hosts { } that is neither an option nor an address is read as a hosts entry "
     "and skipped; it is within two edits of an option name (fallthroug, no_revers), so the "
     "option was most likely meant and is not in effect."},
    {"block/duplicate", S::Error, "Zone defined twice on a listener",
     "The same zone on the same port and bind address in two server blocks (or twice in one): "
     "the server refuses to start."},
    {"view/shadowed", S::Warning, "View that never takes a query",
     "Blocks sharing a zone and port are tried top to bottom: a block with a view written after "
     "one without a view, or after a view whose expressions only ask for client networks that "
     "contain all of this view's, never takes a query."},
    {"view/never", S::Warning, "View that can never match",
     "The view's expressions want the client in networks that do not meet, so no query passes."},
    {"view/split-horizon-leak", S::Error, "A view forwards what another view answers locally",
     "One view answers names of a zone from hosts or kubernetes, and another block on the same "
     "listener (another view, or the one without a view) forwards that zone upstream: its "
     "clients' queries for the internal names leave the machine. Declare the zone private, or "
     "refuse it in that view with an acl."},
    {"acl/unreachable-rule", S::Warning, "acl line that never applies",
     "An acl line after one that matches every query of every client (no `type`, no `net`, or "
     "`*` for both) never applies: the first match wins."},
});

}  // namespace

std::string_view severityName(Severity severity) {
  switch (severity) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Info: return "info";
  }
  return "error";
}

std::span<const RuleInfo> rules() { return kRules; }

const RuleInfo* findRule(std::string_view id) {
  for (const RuleInfo& r : kRules) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

void Findings::add(const conf::Pos& pos, std::string_view rule, std::string message) {
  const RuleInfo* info = findRule(rule);
  Finding f{pos, std::string(rule), info != nullptr ? info->severity : Severity::Error,
            std::move(message)};
  // SARIF and most editors count from 1; a position-less diagnostic points at the file's start.
  if (f.pos.line == 0) f.pos.line = 1;
  if (f.pos.col == 0) f.pos.col = 1;
  items_.push_back(std::move(f));
}

void sortFindings(std::vector<Finding>& findings) {
  auto key = [](const Finding& f) {
    return std::tie(f.pos.file, f.pos.line, f.pos.col, f.rule, f.message);
  };
  std::stable_sort(findings.begin(), findings.end(),
                   [&](const Finding& a, const Finding& b) { return key(a) < key(b); });
  findings.erase(std::unique(findings.begin(), findings.end(),
                             [&](const Finding& a, const Finding& b) { return key(a) == key(b); }),
                 findings.end());
}

}  // namespace moat::lint
