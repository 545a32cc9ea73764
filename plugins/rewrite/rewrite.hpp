// The `rewrite` plugin, as CoreDNS's: rules change the question of a request (its name, type or
// class) before the plugins after it see it, and change the reply on its way back (the
// client's question restored, names mapped back, TTLs and rcodes rewritten). `edns0` rules edit
// the query's EDNS options in place; `cname` rules read the reply of the plugins after rewrite
// (a subquery) and resolve a rewritten CNAME target through the whole server. Rules run in
// Corefile order; a rule that matched stops the rest unless it says `continue`.
//
// Where Moat differs (DESIGN.md §3, §4): the egress check of forward sees the rewritten name
// and the name the client asked (dns::Query::askedName), so a rewrite never carries a private
// name out; and the request is given its client's question back before the plugins in front
// of rewrite (cache, log) see the reply.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/egress.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"
#include "plugins/rewrite/text_name.hpp"

namespace re2 {
class RE2;
}

namespace moat::plugins::rewrite {

// The most regex groups a replacement can name ({0} to {100}, as CoreDNS counts them).
constexpr int kMaxGroups = 100;

enum class Match : uint8_t { Exact, Prefix, Suffix, Substring, Regex };
enum class Field : uint8_t { Name, Type, Class, Ttl, Rcode, Edns0, Cname };

// `edns0 local|nsid|subnet ACTION ...`: what happens to an EDNS option of the query.
enum class EdnsKind : uint8_t { Local, Nsid, Subnet };
enum class EdnsAction : uint8_t { Set, Append, Replace, Unset };
// The data of a `local` option taken from the query rather than written in the rule.
enum class EdnsVar : uint8_t { None, Qname, Qtype, ClientIp, ClientPort, Protocol, ServerIp, ServerPort };

struct EdnsRule {
  EdnsKind kind = EdnsKind::Local;
  EdnsAction action = EdnsAction::Set;
  uint16_t code = 0;          // the option code (NSID 3, client subnet 8, or the local one)
  std::vector<uint8_t> data;  // local: the bytes to set, decoded at load
  EdnsVar var = EdnsVar::None;
  uint8_t v4Bits = 0, v6Bits = 0;  // subnet: prefix lengths kept of the client's address
  bool revert = false;             // take the option out of the reply again
};

// A string test on the question's name in lowercase presentation form ("www.example.org."),
// with what replaces it. Exact, prefix, suffix and substring compare bytes; regex searches
// (unanchored, as Go's FindStringSubmatch) with RE2, which is Go's syntax and runs in time
// linear in the name whatever the pattern; {N} in `to` takes group N.
struct Pattern {
  Match match = Match::Exact;
  std::string from;
  std::string to;
  std::shared_ptr<const re2::RE2> re;  // Match::Regex only, compiled at load
  int groups = 0;                      // the highest {N} `to` names (what a match must capture)

  bool matches(std::string_view name) const;
  // Writes the rewritten name into `out`; false when the result does not fit.
  bool apply(std::string_view name, TextName& out) const;
};

// `answer name REGEX TO` (owners) or `answer value REGEX TO` (the names inside CNAME, NS,
// PTR, DNAME, MX, SRV, SOA and NAPTR records).
struct AnswerRule {
  bool value = false;
  Pattern pattern;  // always Match::Regex
};

struct Rule {
  conf::Pos pos;
  bool stop = true;  // `stop` (the default) or `continue`
  Field field = Field::Name;
  Pattern name;      // the name test; for Field::Name also the rewrite
  bool autoAnswer = false;
  std::vector<AnswerRule> answers;
  uint16_t from = 0, to = 0;               // type, class or rcode values
  uint32_t ttlMin = 0, ttlMax = UINT32_MAX;  // ttl: clamp into [min, max]
  EdnsRule edns;                           // Field::Edns0
  // Field::Cname uses `name` as the test and rewrite of a CNAME target.
  std::string text;                        // the rule as written, for explain and lint
};

struct Config {
  std::vector<Rule> rules;
};

// Pure: the block's `rewrite` stanzas, in order, to rules, or a positioned error.
conf::Result<Config> parseConfig(const std::vector<const conf::Directive*>& stanzas);

class RewriteHandler final : public Handler {
 public:
  // `privateZones` keeps a cname rule from re-resolving, as a public name, a target that was
  // under a private zone (null: no such check, as in unit tests).
  RewriteHandler(Config config, size_t workers, PrivateZonesPtr privateZones = nullptr);

  Verdict onQuery(dns::Query& q) override;
  void onReply(dns::Query& q) override;
  bool observesReplies() const override { return true; }
  std::string_view name() const override { return "rewrite"; }

  const Config& config() const { return config_; }

 private:
  // cname rules (CoreDNS's upstream lookup of the new target): the reply of the plugins after
  // rewrite is read first (Rest); when a CNAME target in its answer matches a rule, the new
  // target is resolved through the whole server (Target) and its answer replaces what followed
  // the CNAME.
  struct Rest final : SubqueryClient {
    RewriteHandler& owner;
    explicit Rest(RewriteHandler& o) : owner(o) {}
    void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override;
  };
  struct Target final : SubqueryClient {
    RewriteHandler& owner;
    explicit Target(RewriteHandler& o) : owner(o) {}
    void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override;
  };
  struct CnameMatch {
    size_t index = 0;  // the CNAME's place among the answer records
    TextName target;   // its new target
    WireBuffer wire{};
    size_t wireLen = 0;
    const PrivateZone* kept = nullptr;  // the old target's private zone, which the new one leaves
  };

  std::vector<uint8_t>& scratch(const dns::Query& q);
  Verdict askRest(dns::Query& q);
  bool findCname(const dns::Query& q, CnameMatch& m) const;
  void spliceAnswer(dns::Query& q, std::span<const uint8_t> targetReply);
  void finishEdns(dns::Query& q);

  Config config_;
  PrivateZonesPtr privateZones_;
  Rest rest_{*this};
  Target target_{*this};
  uint64_t revertRules_ = 0;  // edns0 rules (of the first 64) that say `revert`
  bool replyRules_ = false;  // a ttl or rcode rule: replies may change with no question change
  // One reply buffer per worker (reserved at build), plus a spare for queries from no worker
  // (explain, tests), guarded by a mutex.
  std::vector<std::vector<uint8_t>> scratch_;
  std::mutex spareMutex_;
};

conf::Result<HandlerPtr> setupRewrite(const SetupContext& ctx);

}  // namespace moat::plugins::rewrite
