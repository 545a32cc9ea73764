// The `template` plugin, as CoreDNS's: a stanza per template, each answering the queries of its
// class, type and zones whose name one of its regexes matches with records rendered from Go-style
// templates (text_template.hpp), an rcode and an extended error. A CNAME answer to an A or AAAA
// question has its target resolved through the whole server (Runner::subquery, CoreDNS's
// upstream), so forward's egress check sees it. Templates compile at load; a query renders into
// fixed buffers and writes the records' wire form straight from the text for the common types
// (rr_text.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "dns/zone_set.hpp"
#include "plugins/fall.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"
#include "plugins/pkg/expression/expression.hpp"
#include "plugins/plugin.hpp"
#include "plugins/template/text_template.hpp"

namespace re2 {
class RE2;
}

namespace moat::plugins::tmpl {

// Regex patterns longer than this are refused at load, as CoreDNS refuses them.
constexpr size_t kMaxRegexLen = 10000;
// The most groups a query captures (RE2 fills an array this long on the stack).
constexpr int kMaxGroups = 64;

enum class Section : uint8_t { Answer, Authority, Additional };

struct Record {
  Section section = Section::Answer;
  Template text;
  size_t metricIndex = 0;  // this record's (section, template) label pair
};

struct ExtendedError {
  uint16_t code = 0;
  std::string reason;
};

// One `template CLASS TYPE [ZONE...] { ... }` stanza.
struct Rule {
  conf::Pos pos;
  uint16_t qclass = 0;  // 255: ANY
  uint16_t qtype = 0;   // 255: ANY
  std::string className, typeName;
  dns::ZoneSet zones;
  std::vector<std::shared_ptr<const re2::RE2>> regexes;  // `.*` when none was written
  std::vector<std::string> patterns;                     // as written, for explain and lint
  int groups = 0;  // how many submatches a query captures: 1 + the highest group a record reads
  bool readsRemote = false;  // a record reads .Remote: the client's address is spelled out
  std::vector<Record> records;  // answer, then authority, then additional, each in written order
  uint8_t rcode = 0;
  std::optional<ExtendedError> ederror;
  Fall fall;
  std::vector<expression::Program> conditions;  // `expr`
};

struct Config {
  std::vector<Rule> rules;
  dns::ZoneSet zones;  // every rule's zones: a name outside them goes to the next plugin at once
  // The (section, template text) label values of template_failures and rr_failures, by
  // Record::metricIndex.
  std::vector<std::pair<std::string, std::string>> recordLabels;
};

// Pure: the block's `template` stanzas, in order, to rules, or a positioned error.
// `blockZones` are the zones of a stanza that names none.
conf::Result<Config> parseConfig(const std::vector<const conf::Directive*>& stanzas,
                                 const std::vector<std::string>& blockZones);

class TemplateHandler final : public Handler, public MetricSource, public SubqueryClient {
 public:
  TemplateHandler(Config config, size_t workers, std::string server, std::string view);
  ~TemplateHandler() override;

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "template"; }
  void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override;

  // coredns_template_matches_total, coredns_template_template_failures_total and
  // coredns_template_rr_failures_total with CoreDNS's labels.
  void collect(std::vector<MetricSample>& out) const override;

  const Config& config() const { return config_; }

 private:
  struct Counters;
  // Matches and answers `q`; `upstream` is the reply of the CNAME target's subquery when this
  // is the second pass.
  Verdict answer(dns::Query& q, std::span<const uint8_t> upstream, bool second);
  void count(const dns::Query& q, uint64_t key) const;

  Config config_;
  size_t workers_;
  std::string server_, view_;
  std::unique_ptr<Counters[]> counters_;
};

conf::Result<HandlerPtr> setupTemplate(const SetupContext& ctx);

}  // namespace moat::plugins::tmpl
