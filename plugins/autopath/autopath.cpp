#include "plugins/autopath/autopath.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "conf/args.hpp"
#include "conf/zone.hpp"
#include "dns/message.hpp"
#include "dns/record_walker.hpp"
#include "plugins/resolv_search.hpp"
#include "plugins/server_label.hpp"

namespace moat::plugins::autopath {
namespace {

constexpr std::string_view kPlugin = "autopath";
const uint8_t kRoot[1] = {0};  // the bare name: the last try

// Explain's notes; text is built only when explain asks (the query path allocates nothing).
void note(dns::Query& q, std::string_view text) {
  if (q.trace != nullptr) q.trace->note(kPlugin, std::string(text));
}

std::string nameText(std::span<const uint8_t> wire) {
  return wire.size() == 1 ? std::string("(the bare name)") : dns::nameToText(wire);
}

// The name as the client spelt it (uncompressed in a query).
std::span<const uint8_t> askedName(const dns::Query& q) {
  return {q.request.data() + q.view.question.nameOffset, q.view.question.nameLen};
}

// The owner of `r` in `msg`, pointers followed, into `out`; its length (0 when malformed).
size_t ownerOf(std::span<const uint8_t> msg, const dns::Record& r, std::array<uint8_t, dns::kMaxNameLen>& out) {
  size_t len = 0;
  bool ok = true;
  dns::followName(msg, r.start, [&](size_t at) {
    if (msg[at] > dns::kMaxLabelLen) return;  // a pointer
    const size_t n = 1u + msg[at];
    if (len + n > out.size()) {
      ok = false;
      return;
    }
    std::copy_n(msg.begin() + static_cast<long>(at), n, out.begin() + static_cast<long>(len));
    len += n;
  });
  return ok ? len : 0;
}

bool equalsIgnoringCase(std::span<const uint8_t> lower, std::span<const uint8_t> name) {
  if (lower.size() != name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    uint8_t c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c + 32);
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace

AutoPath::AutoPath(Config config, size_t workers, std::string server)
    : config_(std::move(config)), workers_(std::max<size_t>(workers, 1)),
      state_(std::make_unique<WorkerState[]>(workers_)), server_(std::move(server)) {
  for (const std::string& z : config_.zones) zones_.add(z);
}

AutoPath::~AutoPath() = default;

void AutoPath::peersReady(std::span<const HandlerPtr> chain) {
  if (config_.plugin.empty()) return;
  for (const HandlerPtr& h : chain) {
    auto* source = dynamic_cast<SearchPathSource*>(h.get());
    if (source != nullptr && source->searchPathName() == config_.plugin) source_ = source;
  }
}

AutoPath::Walk* AutoPath::acquire(unsigned worker) {
  if (worker >= workers_) return nullptr;
  WorkerState& s = state_[worker];
  if (!s.idle.empty()) {
    Walk* w = s.idle.back();
    s.idle.pop_back();
    return w;
  }
  if (s.walks.size() >= kMaxWalks) return nullptr;
  s.walks.push_back(std::make_unique<Walk>());
  s.idle.reserve(kMaxWalks);  // release() never grows it
  s.walks.back()->owner = this;
  return s.walks.back().get();
}

void AutoPath::release(unsigned worker, Walk& walk) { state_[worker].idle.push_back(&walk); }

Verdict AutoPath::onQuery(dns::Query& q) {
  if (q.view.header.qdcount == 0) return Verdict::Next;
  const std::span<const uint8_t> lower = q.view.question.lowerName();
  if (!zones_.contains(lower)) {
    if (q.trace != nullptr) note(q, "not in its zones: passed on");
    return Verdict::Next;
  }
  Walk* walk = acquire(q.worker);
  if (walk == nullptr) {
    if (q.trace != nullptr) note(q, "no room for another search in flight: passed on");
    return Verdict::Next;
  }
  walk->path.clear();
  if (!config_.plugin.empty()) {
    // CoreDNS's searchFunc: the plugin says whether this client has a search path at all.
    if (source_ == nullptr || !source_->searchPath(q, walk->path)) {
      release(q.worker, *walk);
      if (q.trace != nullptr) note(q, "@" + config_.plugin + " gives this client no search path: passed on");
      return Verdict::Next;
    }
  } else {
    for (const dns::WireName& domain : config_.search) walk->path.add(domain);
  }
  walk->path.add(kRoot);
  const std::span<const uint8_t> first = walk->path.at(0);
  // The first search domain itself has no name to complete (CoreDNS answers SERVFAIL there,
  // its TrimZone error); below it, the part before it is what the client asked.
  if (walk->path.size() < 2 || lower.size() <= first.size() || !dns::isSubdomain(lower, first)) {
    release(q.worker, *walk);
    if (q.trace != nullptr) {
      note(q, walk->path.size() < 2 ? "empty search path: passed on"
                                     : "the name is not below the first search domain " + nameText(first) +
                                           ": passed on");
    }
    return Verdict::Next;
  }
  walk->baseLen = lower.size() - first.size();
  walk->tried = 0;
  walk->firstDropped = false;
  if (q.trace != nullptr) {
    std::string list;
    for (size_t i = 0; i < walk->path.size(); ++i) list += (i ? ", " : "") + nameText(walk->path.at(i));
    note(q, "below the first search domain: tries " + list + " through the plugins after it");
  }
  if (!tryNext(q, *walk)) {
    release(q.worker, *walk);
    note(q, "could not ask the plugins after it: passed on");
    return Verdict::Next;
  }
  return Verdict::Pending;
}

// Asks the plugins after autopath for the base name under the search domain walk.tried.
bool AutoPath::tryNext(dns::Query& parent, Walk& walk) {
  const std::span<const uint8_t> domain = walk.path.at(walk.tried);
  std::array<uint8_t, dns::kMaxNameLen> name{};
  if (walk.baseLen + domain.size() > name.size()) return false;
  const auto asked = askedName(parent);
  std::copy_n(asked.begin(), walk.baseLen, name.begin());
  std::copy(domain.begin(), domain.end(), name.begin() + static_cast<long>(walk.baseLen));
  if (parent.dispatcher == nullptr) return false;
  return static_cast<Runner*>(parent.dispatcher)
      ->subqueryNext(parent, {name.data(), walk.baseLen + domain.size()}, walk);
}

void AutoPath::Walk::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  AutoPath& self = *owner;
  const unsigned worker = parent.worker;
  const size_t i = tried;
  const bool dropped = reply.size() < dns::kHeaderSize;
  if (!dropped && !parent.error.empty()) {
    // As CoreDNS: an error of the plugins after it (forward without an upstream, the end of
    // the chain) ends the walk; the client gets that rcode for its own question.
    const auto rcode = dns::RecordWalker(reply).header().rcode();
    dns::writeErrorReply(parent.reply, parent.requestBytes(), &parent.view, rcode);
    if (parent.trace != nullptr) {
      // Under explain forward sends nothing and reports that as this error: say so.
      note(parent, "try " + std::to_string(i + 1) + " (" + nameText(path.at(i)) + ") ended in an error (" +
                       std::string(parent.error) +
                       "): the search stops there (under explain, forward sends nothing; a running server "
                       "answers with the upstream's reply unless it is NXDOMAIN)");
    }
    self.release(worker, *this);
    return resume(parent, Verdict::Answered);
  }
  if (i == 0) {
    // The reply to the name the client asked: what it gets when every try is NXDOMAIN. Its
    // question takes the client's spelling back (the search domain was tried lowercased).
    firstDropped = dropped;
    if (!dropped) {
      parent.reply.assign(reply.begin(), reply.end());
      const auto asked = askedName(parent);
      if (parent.reply.size() >= dns::kHeaderSize + asked.size()) {
        std::copy(asked.begin(), asked.end(), parent.reply.begin() + dns::kHeaderSize);
      }
    }
  }
  const dns::RCode rcode = dropped ? dns::RCode::ServFail : dns::RecordWalker(reply).header().rcode();
  // CoreDNS goes on past NXDOMAIN, and past the rcodes a plugin returns without writing a reply
  // (plugin.ClientWrite: SERVFAIL, REFUSED, FORMERR, NOTIMP), which is how Moat's plugins that
  // end a query without an error (hosts without fallthrough) answer.
  const bool nxdomain = rcode == dns::RCode::NXDomain;
  const bool unwritten = rcode == dns::RCode::ServFail || rcode == dns::RCode::Refused ||
                         rcode == dns::RCode::FormErr || rcode == dns::RCode::NotImp;
  if (parent.trace != nullptr && !(dropped || nxdomain || unwritten)) {
    note(parent, "answered by search-path name " + std::to_string(i + 1) + " of " + std::to_string(path.size()) +
                     ": " + nameText(path.at(i)) + " (rcode " +
                     std::to_string(static_cast<int>(dns::RecordWalker(reply).header().rcode())) + ")");
  }
  if (!dropped && !nxdomain && !unwritten) {
    self.answer(parent, *this, reply);
    self.release(worker, *this);
    return resume(parent, Verdict::Answered);
  }
  if (parent.trace != nullptr) {
    note(parent, "try " + std::to_string(i + 1) + " (" + nameText(path.at(i)) + "): " +
                     (dropped ? "no reply" : nxdomain ? "NXDOMAIN" : "rcode " + std::to_string(static_cast<int>(rcode))));
  }
  tried = i + 1;
  if (tried < path.size() && self.tryNext(parent, *this)) return;
  // Every try NXDOMAIN (or the next could not start): the reply to the asked name, as it was.
  self.release(worker, *this);
  if (firstDropped) return resume(parent, Verdict::Drop);
  note(parent, "no search-path name answered: the reply to the asked name");
  resume(parent, Verdict::Answered);
}

// CoreDNS's reply shape: the found reply (header, rcode and sections as the plugins after
// autopath wrote them) with the client's question, and a CNAME from the asked name to the
// owner of the first answer record not named like the asked name, put first, with that
// record's TTL.
void AutoPath::answer(dns::Query& parent, Walk& walk, std::span<const uint8_t> reply) {
  (void)walk;
  dns::RecordWalker walk0(reply);
  const dns::Header header = walk0.header();
  std::array<uint8_t, dns::kMaxNameLen> target{};
  size_t targetLen = 0;
  uint32_t targetTtl = 0;
  const auto lowerAsked = parent.view.question.lowerName();
  for (dns::Record r; walk0.next(r) && r.section == dns::Section::Answer;) {
    const size_t len = ownerOf(reply, r, target);
    if (len == 0 || equalsIgnoringCase(lowerAsked, {target.data(), len})) continue;
    targetLen = len;
    targetTtl = r.ttl;
    break;
  }
  std::vector<uint8_t>& out = parent.reply;
  dns::MessageWriter w(out);
  w.startReply(parent.requestBytes(), parent.view, header.rcode(), (header.flags & dns::flag::AA) != 0);
  for (uint16_t f : {dns::flag::TC, dns::flag::RA, dns::flag::AD}) w.setFlag(f, (header.flags & f) != 0);
  if (targetLen != 0) {
    w.addRR(dns::Section::Answer, askedName(parent), dns::rrtype::CNAME, dns::rrclass::IN, targetTtl,
            {target.data(), targetLen});
  }
  dns::RecordWalker copy(reply);
  bool ok = true;
  for (dns::Record r; ok && copy.next(r);) {
    if (r.section == dns::Section::Additional && r.type == dns::rrtype::OPT) continue;
    ok = dns::appendRecordExpanded(out, reply, r, r.section);
  }
  if (!ok || !copy.done()) {
    dns::writeErrorReply(out, parent.requestBytes(), &parent.view, dns::RCode::ServFail);
    parent.error = "autopath: the reply of a search-path name is malformed";
    return;
  }
  state_[parent.worker].successes.fetch_add(1, std::memory_order_relaxed);
  if (parent.trace != nullptr && targetLen != 0) {
    note(parent, "CNAME " + dns::nameToText(askedName(parent)) + " -> " +
                     dns::nameToText({target.data(), targetLen}) + " put first");
  }
}

uint64_t AutoPath::successes() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < workers_; ++i) sum += state_[i].successes.load(std::memory_order_relaxed);
  return sum;
}

void AutoPath::collect(std::vector<MetricSample>& out) const {
  // A CounterVec in CoreDNS: the series exists once something was autopathed.
  if (const uint64_t n = successes(); n != 0) {
    out.push_back({"coredns_autopath_success_total", "Counter of requests that did autopath.", false,
                   {{"server", server_}}, static_cast<double>(n)});
  }
}

namespace {

// The kubernetes stanza of the block has `pods verified`: without it the plugin keeps no index
// of pod addresses and no client has a search path.
bool podsVerified(const conf::Directive& kubernetes) {
  for (const conf::Directive& option : kubernetes.block) {
    if (option.name.text == "pods" && option.args.size() == 1 && option.args[0].text == "verified") return true;
  }
  return false;
}

}  // namespace

conf::Result<Config> parseConfig(const SetupContext& ctx) {
  if (ctx.stanzas.empty()) return conf::errorAt(conf::Pos{}, "autopath: no stanza to set up");
  if (ctx.stanzas.size() > 1) {
    return conf::errorAt(ctx.stanzas[1]->name, kPlugin, "may appear only once per server block");
  }
  const conf::Directive& d = *ctx.stanzas[0];
  if (d.args.empty()) return conf::errorAt(d.name, kPlugin, "no resolv-conf specified");
  if (!d.block.empty()) {
    return conf::unknownOption(d.block.front(), kPlugin, {});  // it has no options
  }
  Config config;
  const conf::Token& resolv = d.args.back();
  config.pos = resolv.pos;
  config.resolvConf = resolv.text;
  config.zones = ctx.zones;
  if (d.args.size() > 1) {
    config.zones.clear();
    for (size_t i = 0; i + 1 < d.args.size(); ++i) {
      auto zones = conf::normalizeZone(d.args[i]);
      if (!zones) return zones.error();
      config.zones.insert(config.zones.end(), zones->begin(), zones->end());
    }
  }
  if (config.zones.empty()) config.zones.push_back(".");

  if (resolv.text.starts_with("@")) {
    config.plugin = resolv.text.substr(1);
    // Only the kubernetes plugin knows a client's search path (CoreDNS's AutoPather).
    if (config.plugin != "kubernetes") {
      std::string hint = conf::didYouMean(config.plugin, {"kubernetes"});
      return conf::errorAt(resolv, kPlugin,
                           "'" + resolv.text + "': only @kubernetes gives a search path" +
                               (hint.empty() ? std::string() : ", did you mean '@" + hint + "'?"));
    }
    const conf::Directive* kubernetes = nullptr;
    for (const conf::Directive& other : ctx.block->directives) {
      if (other.name.text == "kubernetes") kubernetes = &other;
    }
    if (kubernetes == nullptr) {
      return conf::errorAt(resolv, kPlugin, "@kubernetes needs a kubernetes plugin in the same server block");
    }
    if (!podsVerified(*kubernetes)) {
      return conf::errorAt(resolv, kPlugin,
                           "@kubernetes needs 'pods verified' in the kubernetes plugin (line " +
                               std::to_string(kubernetes->name.pos.line) +
                               "): only then is a client's address known to be a pod's");
    }
    return config;
  }
  std::filesystem::path file(resolv.text);
  if (file.is_relative() && !ctx.baseDir.empty()) file = std::filesystem::path(ctx.baseDir) / file;
  std::ifstream in(file);
  if (resolv.text.empty() || !in) {
    return conf::errorAt(resolv, kPlugin, "failed to parse \"" + resolv.text + "\": cannot read " + file.string());
  }
  std::stringstream text;
  text << in.rdbuf();
  config.search = resolvSearch(text.str());
  return config;
}

conf::Result<HandlerPtr> setupAutoPath(const SetupContext& ctx) {
  auto config = parseConfig(ctx);
  if (!config) return config.error();
  auto handler = std::make_shared<AutoPath>(std::move(*config), ctx.loops.size(), serverLabel(ctx));
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::autopath
