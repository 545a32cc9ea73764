#include "plugins/rewrite/rewrite.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <re2/re2.h>

#include "dns/edns_option.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/record_walker.hpp"
#include "dns/reply_fit.hpp"
#include "plugins/egress.hpp"
#include "plugins/rewrite/edns0.hpp"

namespace moat::plugins::rewrite {
namespace {

constexpr std::string_view kPlugin = "rewrite";
constexpr std::string_view kInvalidName = "invalid name after rewrite";
// The most name rules one query can have fired that its reply maps back; further ones still
// rewrite the question but their `answer` rules are not applied (a Corefile this deep is a loop
// of its own making).
constexpr size_t kMaxSteps = 8;

bool regexApply(const Pattern& p, std::string_view name, std::string_view to, TextName* out) {
  // Only the groups `to` names are captured; a plain test runs RE2's DFA alone.
  const int groups = out == nullptr ? 0 : std::max(p.groups, 0) + 1;
  std::array<re2::StringPiece, kMaxGroups + 1> m;
  const re2::StringPiece text(name.data(), name.size());
  if (!p.re->Match(text, 0, text.size(), re2::RE2::UNANCHORED, m.data(), groups)) return false;
  if (out == nullptr) return true;
  // {N} takes group N; anything else in `to` is copied as written.
  out->clear();
  for (size_t i = 0; i < to.size(); ++i) {
    if (to[i] == '{') {
      const size_t close = to.find('}', i);
      if (close != std::string_view::npos && close > i + 1 && close - i <= 4) {
        size_t group = 0;
        bool digits = true;
        for (size_t k = i + 1; k < close; ++k) {
          digits = digits && to[k] >= '0' && to[k] <= '9';
          group = group * 10 + static_cast<size_t>(to[k] - '0');
        }
        if (digits && group < static_cast<size_t>(groups)) {
          if (!out->append({m[group].data(), m[group].size()})) return false;
          i = close;
          continue;
        }
      }
    }
    if (!out->append(to.substr(i, 1))) return false;
  }
  return true;
}

// CoreDNS's remap for `answer auto`: `to` (the name a rule made) or a name below it becomes
// `from` (the name before the rule) or the same name below that.
bool remap(std::string_view name, std::string_view to, std::string_view from, TextName& out) {
  if (name == to) return out.assign(from);
  if (name.size() > to.size() && name.ends_with(to) && name[name.size() - to.size() - 1] == '.') {
    return out.assign(name.substr(0, name.size() - to.size())) && out.append(from);
  }
  return false;
}

// Reads the name at `off` of `msg` (pointers followed) into `out`; returns its length, or 0.
size_t expand(std::span<const uint8_t> msg, size_t off, WireBuffer& out, size_t& end) {
  size_t n = 0;
  const dns::NameEnd e = dns::followName(msg, off, [&](size_t at) {
    if (msg[at] > dns::kMaxLabelLen) return;  // a pointer: its target's labels follow
    const size_t len = size_t{msg[at]} + 1;
    if (n + len <= out.size()) std::memcpy(out.data() + n, msg.data() + at, len);
    n += len;
  });
  if (e.error != dns::WireError::None || n > out.size()) return 0;
  end = e.end;
  return n;
}

void putName(std::vector<uint8_t>& out, std::span<const uint8_t> wire) { out.insert(out.end(), wire.begin(), wire.end()); }

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

// Replaces the question of q.request (name, type, class) and parses it again.
bool setQuestion(dns::Query& q, std::span<const uint8_t> name, uint16_t type, uint16_t klass) {
  const dns::Question& question = q.view.question;
  const size_t nameAt = question.nameOffset;
  const size_t tailAt = question.end;
  const size_t tail = q.requestLen - tailAt;
  const size_t size = nameAt + name.size() + 4 + tail;
  if (size > dns::kMaxRequest) return false;
  std::memmove(q.request.data() + nameAt + name.size() + 4, q.request.data() + tailAt, tail);
  std::memcpy(q.request.data() + nameAt, name.data(), name.size());
  dns::put16(q.request.data() + nameAt + name.size(), type);
  dns::put16(q.request.data() + nameAt + name.size() + 2, klass);
  q.requestLen = static_cast<uint16_t>(size);
  return dns::parseQuery(q.requestBytes(), q.view) == dns::ParseStatus::Ok;
}

std::string_view matchName(Match m) {
  switch (m) {
    case Match::Exact: return "exact";
    case Match::Prefix: return "prefix";
    case Match::Suffix: return "suffix";
    case Match::Substring: return "substring";
    case Match::Regex: return "regex";
  }
  return "";
}

}  // namespace

bool Pattern::matches(std::string_view name) const {
  switch (match) {
    case Match::Exact: return name == from;
    case Match::Prefix: return name.starts_with(from);
    case Match::Suffix: return name.ends_with(from);
    case Match::Substring: return name.find(from) != std::string_view::npos;
    case Match::Regex: return regexApply(*this, name, {}, nullptr);
  }
  return false;
}

bool Pattern::apply(std::string_view name, TextName& out) const {
  switch (match) {
    case Match::Exact:
      return name == from && out.assign(to);
    case Match::Prefix:
      return name.starts_with(from) && out.assign(to) && out.append(name.substr(from.size()));
    case Match::Suffix:
      return name.ends_with(from) && out.assign(name.substr(0, name.size() - from.size())) && out.append(to);
    case Match::Substring: {
      // Every occurrence, left to right, as Go's strings.ReplaceAll.
      size_t at = name.find(from);
      if (at == std::string_view::npos || from.empty()) return false;
      out.clear();
      size_t done = 0;
      for (; at != std::string_view::npos; at = name.find(from, done)) {
        if (!out.append(name.substr(done, at - done)) || !out.append(to)) return false;
        done = at + from.size();
      }
      return out.append(name.substr(done));
    }
    case Match::Regex:
      return regexApply(*this, name, to, &out);
  }
  return false;
}

namespace {

// One pass of the rules over a question, as CoreDNS's ServeDNS runs them: in order, each
// seeing what the ones before made of the name, type and class; a rule that fired and says
// `stop` ends the pass. The query path and the reply path (which runs it again from the
// client's question to learn what to map back) share it, so they cannot disagree.
struct Pass {
  struct Step {
    const Rule* rule = nullptr;
    TextName before, after;  // name rules: the name before and after this rule
  };

  TextName name;
  uint16_t type = 0, klass = 0;
  bool nameChanged = false;
  bool invalid = false;  // a name rule made something that is not a name
  std::array<Step, kMaxSteps> steps;
  size_t stepCount = 0;
  bool responseRules = false;  // something for the reply beyond its question
  bool cname = false;          // a cname rule was reached
  uint64_t firedRules = 0;     // which of the first 64 rules fired
  size_t ran = 0;              // how many rules the pass looked at

  // `edit`: the query whose EDNS options the edns0 rules change (onQuery). `replay`: a query
  // whose onQuery pass this one repeats (onReply): it stops where that one stopped, and its
  // edns0 rules fire as they fired then, since what they found in the OPT is gone.
  void run(const Config& config, dns::Trace* trace, dns::Query* edit = nullptr, const dns::Query* replay = nullptr) {
    TextName next;
    const size_t limit = replay != nullptr && replay->rewriteRan != 0 ? replay->rewriteRan : config.rules.size();
    for (size_t index = 0; index < limit && index < config.rules.size(); ++index) {
      const Rule& rule = config.rules[index];
      ran = index + 1;
      bool fired = false;
      switch (rule.field) {
        case Field::Edns0:
          if (edit != nullptr) {
            fired = applyEdns0(rule, *edit, name.view(), type);
          } else if (replay != nullptr) {
            fired = index < 64 && ((replay->rewriteFired >> index) & 1u) != 0;
          }
          break;
        case Field::Cname:
          // As CoreDNS's: reaching the rule is firing it; the reply decides whether it matters.
          fired = true;
          cname = true;
          if (trace != nullptr) trace->note(kPlugin, rule.text + ": CNAME targets of the reply will be tested");
          break;
        case Field::Name:
          if (rule.name.apply(name.view(), next)) {
            fired = true;
            WireBuffer wire;
            if (toWire(next.view(), wire) == 0) {
              invalid = true;
              if (trace != nullptr) {
                trace->note(kPlugin, "name " + std::string(name.view()) + " -> " + std::string(next.view()) +
                                         ": not a valid name, SERVFAIL");
              }
              return;
            }
            if (stepCount < steps.size()) {
              Step& s = steps[stepCount++];
              s.rule = &rule;
              s.before = name;
              s.after = next;
            }
            if (trace != nullptr) {
              trace->note(kPlugin, "name " + std::string(name.view()) + " -> " + std::string(next.view()) + " (" +
                                       std::string(matchName(rule.name.match)) + ", " + rule.text + ")");
            }
            name = next;
            nameChanged = true;
            responseRules = responseRules || rule.autoAnswer || !rule.answers.empty();
          }
          break;
        case Field::Type:
        case Field::Class: {
          uint16_t& value = rule.field == Field::Type ? type : klass;
          if (value == rule.from) {
            value = rule.to;
            fired = true;
            if (trace != nullptr) trace->note(kPlugin, rule.text + ": the question's " + (rule.field == Field::Type ? "type" : "class") + " rewritten");
          }
          break;
        }
        case Field::Ttl:
        case Field::Rcode:
          if (rule.name.matches(name.view())) {
            fired = true;
            responseRules = true;
            if (stepCount < steps.size()) steps[stepCount++].rule = &rule;
            if (trace != nullptr) trace->note(kPlugin, rule.text + ": applies to the reply");
          }
          break;
      }
      if (fired && index < 64) firedRules |= uint64_t{1} << index;
      if (fired && rule.stop) break;
    }
  }
};

// Rewrites one name of the reply (an owner, or a name in a record's data) by the fired rules,
// last rule first, as CoreDNS reverts them. `owner` picks the rules for owners, else those for
// values. Returns whether it changed.
bool revertName(const Pass& pass, bool owner, TextName& name) {
  TextName next;
  bool changed = false;
  for (size_t i = pass.stepCount; i-- > 0;) {
    const Pass::Step& s = pass.steps[i];
    const Rule& rule = *s.rule;
    if (rule.field != Field::Name) continue;
    for (size_t k = rule.answers.size(); k-- > 0;) {
      const AnswerRule& a = rule.answers[k];
      if (a.value == owner) continue;
      if (a.pattern.apply(name.view(), next)) {
        name = next;
        changed = true;
      }
    }
    if (!rule.autoAnswer) continue;
    // A suffix rule maps its TO suffix back to FROM; the others map the name they made back
    // to the name they were given.
    const bool mapped = rule.name.match == Match::Suffix
                            ? name.view().ends_with(rule.name.to) &&
                                  next.assign(name.view().substr(0, name.view().size() - rule.name.to.size())) &&
                                  next.append(rule.name.from)
                            : remap(name.view(), s.after.view(), s.before.view(), next);
    if (mapped) {
      name = next;
      changed = true;
    }
  }
  return changed;
}

// Writes the name at `off` of `msg` to `out`, rewritten by the fired rules when one changes it
// (then lowercase, as CoreDNS's rules leave names), else as it was (pointers expanded).
bool copyName(const Pass& pass, bool owner, std::span<const uint8_t> msg, size_t off, std::vector<uint8_t>& out,
              size_t& end) {
  WireBuffer wire;
  const size_t n = expand(msg, off, wire, end);
  if (n == 0) return false;
  TextName text;
  toText({wire.data(), n}, text);
  if (revertName(pass, owner, text)) {
    WireBuffer rewritten;
    const size_t m = toWire(text.view(), rewritten);
    if (m != 0) {
      putName(out, {rewritten.data(), m});
      return true;
    }
  }
  putName(out, {wire.data(), n});
  return true;
}

// The record data with the names in it rewritten (CNAME, NS, PTR, DNAME, MX, SRV, SOA's first
// name, NAPTR's replacement), every name written out in full; other types copied as they are.
bool copyRdata(const Pass& pass, std::span<const uint8_t> msg, const dns::Record& r, std::vector<uint8_t>& out) {
  const size_t start = r.rdata(), stop = r.end();
  auto raw = [&](size_t from, size_t to) {
    if (from > to) return false;
    out.insert(out.end(), msg.begin() + static_cast<std::ptrdiff_t>(from), msg.begin() + static_cast<std::ptrdiff_t>(to));
    return true;
  };
  size_t end = 0;
  switch (r.type) {
    case dns::rrtype::CNAME:
    case dns::rrtype::NS:
    case dns::rrtype::PTR:
    case dns::rrtype::DNAME:
      return copyName(pass, false, msg, start, out, end) && end == stop;
    case dns::rrtype::MX:
      return stop - start > 2 && raw(start, start + 2) && copyName(pass, false, msg, start + 2, out, end) && end == stop;
    case dns::rrtype::SRV:
      return stop - start > 6 && raw(start, start + 6) && copyName(pass, false, msg, start + 6, out, end) && end == stop;
    case dns::rrtype::SOA: {
      if (!copyName(pass, false, msg, start, out, end)) return false;
      WireBuffer rname;
      size_t after = 0;
      const size_t n = expand(msg, end, rname, after);
      if (n == 0 || after + 20 != stop) return false;
      putName(out, {rname.data(), n});
      return raw(after, stop);
    }
    case 35: {  // NAPTR: order, preference, three strings, then the replacement name
      size_t at = start + 4;
      for (int i = 0; i < 3 && at < stop; ++i) at += 1 + size_t{msg[at]};
      if (at >= stop) return false;
      return raw(start, at) && copyName(pass, false, msg, at, out, end) && end == stop;
    }
    default:
      return raw(start, stop);
  }
}

// One record of `msg`, its names rewritten by `pass` (none for a pass that fired nothing) and
// written out in full; an OPT as it is. False when it does not read or no longer fits.
bool copyRecord(const Pass& pass, std::span<const uint8_t> msg, const dns::Record& r, std::vector<uint8_t>& out) {
  if (r.type == dns::rrtype::OPT) {
    out.push_back(0);
    out.insert(out.end(), msg.begin() + static_cast<std::ptrdiff_t>(r.ownerEnd),
               msg.begin() + static_cast<std::ptrdiff_t>(r.end()));
    return true;
  }
  size_t end = 0;
  if (!copyName(pass, true, msg, r.start, out, end)) return false;
  put16(out, r.type);
  put16(out, r.klass);
  put32(out, r.ttl);
  const size_t lengthAt = out.size();
  put16(out, 0);
  if (!copyRdata(pass, msg, r, out)) return false;
  const size_t rdlength = out.size() - lengthAt - 2;
  if (rdlength > 0xFFFF || out.size() > dns::kMaxMessage) return false;
  dns::put16(out.data() + lengthAt, static_cast<uint16_t>(rdlength));
  return true;
}

void note(const dns::Query& q, std::string_view text) {
  if (q.trace != nullptr) q.trace->note(kPlugin, std::string(text));
}

}  // namespace

RewriteHandler::RewriteHandler(Config config, size_t workers, PrivateZonesPtr privateZones)
    : config_(std::move(config)), privateZones_(std::move(privateZones)) {
  for (size_t i = 0; i < config_.rules.size(); ++i) {
    const Rule& r = config_.rules[i];
    replyRules_ = replyRules_ || r.field == Field::Ttl || r.field == Field::Rcode;
    if (r.field == Field::Edns0 && r.edns.revert && i < 64) revertRules_ |= uint64_t{1} << i;
  }
  scratch_.resize(workers + 1);
  for (auto& s : scratch_) s.reserve(dns::kMaxMessage + 1);
}

std::vector<uint8_t>& RewriteHandler::scratch(const dns::Query& q) {
  return scratch_[std::min<size_t>(q.worker, scratch_.size() - 1)];
}

Verdict RewriteHandler::onQuery(dns::Query& q) {
  if (q.view.header.qdcount == 0 || config_.rules.empty()) return Verdict::Next;
  Pass pass;
  toText(q.view.question.lowerName(), pass.name);
  pass.type = q.view.question.qtype;
  pass.klass = q.view.question.qclass;
  pass.run(config_, q.trace, &q);
  q.rewriteRan = static_cast<uint16_t>(std::min<size_t>(pass.ran, UINT16_MAX));
  q.rewriteFired = pass.firedRules;
  if (pass.invalid) {
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
    q.error = kInvalidName;
    q.errorPlugin = kPlugin;
    return Verdict::Answered;
  }
  const bool typeChanged = pass.type != q.view.question.qtype || pass.klass != q.view.question.qclass;
  if (!pass.nameChanged && !typeChanged) return pass.cname ? askRest(q) : Verdict::Next;

  const dns::Question& question = q.view.question;
  if (q.askedLen == 0) {  // the first rewrite of this query keeps what the client asked
    std::memcpy(q.askedName.data(), q.request.data() + question.nameOffset, question.nameLen);
    std::memcpy(q.askedLower.data(), question.lower.data(), question.nameLen);
    q.askedLen = question.nameLen;
    q.askedType = question.qtype;
    q.askedClass = question.qclass;
  }
  WireBuffer wire;
  size_t n = question.nameLen;
  if (pass.nameChanged) {
    n = toWire(pass.name.view(), wire);
  } else {
    std::memcpy(wire.data(), q.request.data() + question.nameOffset, n);
  }
  if (n == 0 || !setQuestion(q, {wire.data(), n}, pass.type, pass.klass)) {
    // Put back what parsed before, then fail as CoreDNS fails an invalid rewrite.
    setQuestion(q, {q.askedName.data(), q.askedLen}, q.askedType, q.askedClass);
    q.askedLen = 0;
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
    q.error = kInvalidName;
    q.errorPlugin = kPlugin;
    return Verdict::Answered;
  }
  return pass.cname ? askRest(q) : Verdict::Next;
}

void RewriteHandler::onReply(dns::Query& q) {
  const bool rewritten = q.askedLen != 0;
  const bool edns = q.rewriteAddedOpt || (q.rewriteFired & revertRules_) != 0;
  if (edns) finishEdns(q);
  if (!rewritten && !replyRules_) return;
  // The rules again, from the client's question: which fired, and the names they made.
  Pass pass;
  if (rewritten) {
    toText(q.askedLowerName(), pass.name);
    pass.type = q.askedType;
    pass.klass = q.askedClass;
  } else {
    toText(q.view.question.lowerName(), pass.name);
    pass.type = q.view.question.qtype;
    pass.klass = q.view.question.qclass;
  }
  pass.run(config_, nullptr, nullptr, &q);

  // The request gets its client's question back, for the plugins before rewrite (cache keys,
  // log lines) and for fitting the reply to the client's buffer.
  if (rewritten) {
    setQuestion(q, {q.askedName.data(), q.askedLen}, q.askedType, q.askedClass);
    q.askedLen = 0;
  }
  if (!pass.responseRules && !rewritten) return;
  if (q.reply.size() < dns::kHeaderSize) return;

  std::unique_lock<std::mutex> spare;
  if (q.worker >= scratch_.size() - 1) spare = std::unique_lock<std::mutex>(spareMutex_);
  std::vector<uint8_t>& out = scratch(q);
  out.clear();
  const std::span<const uint8_t> msg(q.reply);
  dns::Header h = dns::Header::read(msg.data());
  // rcode rules: the last fired first, as CoreDNS reverts.
  for (size_t i = pass.stepCount; i-- > 0;) {
    const Rule& rule = *pass.steps[i].rule;
    if (rule.field == Field::Rcode && (h.flags & dns::flag::RcodeMask) == rule.from) {
      h.flags = static_cast<uint16_t>((h.flags & ~dns::flag::RcodeMask) | (rule.to & dns::flag::RcodeMask));
    }
  }
  h.qdcount = 1;
  out.resize(dns::kHeaderSize);
  h.write(out.data());
  // The client's question, as it asked it.
  const dns::Question& question = q.view.question;
  out.insert(out.end(), q.request.begin() + question.nameOffset, q.request.begin() + question.end);

  dns::RecordWalker walk(msg);
  bool ok = true;
  for (dns::Record r; ok && walk.next(r);) {
    if (r.type == dns::rrtype::OPT) {  // the OPT's owner is the root and its TTL holds flags
      out.push_back(0);
      out.insert(out.end(), msg.begin() + static_cast<std::ptrdiff_t>(r.ownerEnd),
                 msg.begin() + static_cast<std::ptrdiff_t>(r.end()));
      continue;
    }
    size_t end = 0;
    ok = copyName(pass, true, msg, r.start, out, end);
    if (!ok) break;
    uint32_t ttl = r.ttl;
    for (size_t i = pass.stepCount; i-- > 0;) {
      const Rule& rule = *pass.steps[i].rule;
      if (rule.field == Field::Ttl) ttl = std::clamp(ttl, rule.ttlMin, rule.ttlMax);
    }
    put16(out, r.type);
    put16(out, r.klass);
    put32(out, ttl);
    const size_t lengthAt = out.size();
    put16(out, 0);
    ok = copyRdata(pass, msg, r, out);
    const size_t rdlength = out.size() - lengthAt - 2;
    ok = ok && rdlength <= 0xFFFF && out.size() <= dns::kMaxMessage;
    if (ok) dns::put16(out.data() + lengthAt, static_cast<uint16_t>(rdlength));
  }
  if (!ok || !walk.done()) {
    // A reply that does not read as records: the client gets SERVFAIL for its question.
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
    return;
  }
  q.reply.assign(out.begin(), out.end());
  // Names written out in full may no longer fit the client's buffer: compress or cut again.
  dns::finalizeReply(q.reply, q.view, q.proto);
}

// The rest of the chain answers through a subquery (the question as rewritten, EDNS and all,
// the client's name kept for the egress check) so that its reply can be read before it is the
// parent's: CoreDNS's cname rule sees the reply as it is written.
Verdict RewriteHandler::askRest(dns::Query& q) {
  auto* runner = static_cast<Runner*>(q.dispatcher);
  const dns::Question& question = q.view.question;
  const std::span<const uint8_t> name(q.request.data() + question.nameOffset, question.nameLen);
  if (runner == nullptr || !runner->subqueryNext(q, name, rest_)) {
    note(q, "the plugins after rewrite could not be asked apart: CNAME targets left as they are");
    return Verdict::Next;
  }
  return Verdict::Pending;
}

bool RewriteHandler::findCname(const dns::Query& q, CnameMatch& m) const {
  const std::span<const uint8_t> msg(q.reply);
  const size_t ran = std::min<size_t>(q.rewriteRan != 0 ? q.rewriteRan : config_.rules.size(), config_.rules.size());
  dns::RecordWalker walk(msg);
  size_t index = 0;
  for (dns::Record r; walk.next(r) && r.section == dns::Section::Answer; ++index) {
    if (r.type != dns::rrtype::CNAME) continue;
    WireBuffer wire;
    size_t end = 0;
    const size_t n = expand(msg, r.rdata(), wire, end);
    if (n == 0) continue;
    TextName target;
    toText({wire.data(), n}, target);
    // The rules reached, last first, as CoreDNS's response rules run.
    for (size_t i = ran; i-- > 0;) {
      const Rule& rule = config_.rules[i];
      if (rule.field != Field::Cname || !rule.name.apply(target.view(), m.target)) continue;
      m.wireLen = toWire(m.target.view(), m.wire);
      if (m.wireLen == 0) continue;  // not a name: nothing to look up
      m.index = index;
      m.kept = nullptr;
      if (privateZones_ != nullptr) {
        WireBuffer lower;
        const size_t k = toWire(target.view(), lower);
        const PrivateZone* zone = k == 0 ? nullptr : privateZones_->find({lower.data(), k});
        if (zone != nullptr && privateZones_->find({m.wire.data(), m.wireLen}) != zone) m.kept = zone;
      }
      return true;
    }
  }
  return false;
}

void RewriteHandler::Rest::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  if (reply.empty()) return resume(parent, Verdict::Drop);  // the rest dropped it: so does the parent
  parent.reply.assign(reply.begin(), reply.end());
  if (!parent.error.empty() || reply.size() < dns::kHeaderSize) return resume(parent, Verdict::Answered);
  CnameMatch m;
  if (!owner.findCname(parent, m)) {
    note(parent, "no CNAME target in the answer matches a cname rule");
    return resume(parent, Verdict::Answered);
  }
  if (m.kept != nullptr) {
    // The new target is made from a private name: resolving it would send what the private zone
    // holds out under another name, as a name rule would (DESIGN.md section 4).
    if (parent.trace != nullptr) {
      note(parent, "CNAME target under the private zone " + m.kept->name + " not rewritten to " +
                       std::string(m.target.view()) + ": it would leave the zone");
    }
    return resume(parent, Verdict::Answered);
  }
  if (!static_cast<Runner*>(parent.dispatcher)
           ->subquery(parent, {m.wire.data(), m.wireLen}, parent.view.question.qtype, owner.target_)) {
    note(parent, "the new CNAME target could not be resolved (too deep or busy): reply left as it is");
    return resume(parent, Verdict::Answered);
  }
  if (parent.trace != nullptr) {
    note(parent, "CNAME target rewritten to " + std::string(m.target.view()) + ": resolved through the whole server");
  }
}

void RewriteHandler::Target::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  // As CoreDNS when its lookup fails: the reply stays as the plugins after rewrite wrote it.
  if (reply.size() >= dns::kHeaderSize) owner.spliceAnswer(parent, reply);
  resume(parent, Verdict::Answered);
}

// The answer CoreDNS's cname rule gives: the CNAME records up to the one rewritten (other
// records before it dropped), that one with its new target, then the answer of the new
// target's lookup, whose TC bit the reply takes; authority and additional stay the first
// reply's, and so does the RCODE.
void RewriteHandler::spliceAnswer(dns::Query& q, std::span<const uint8_t> targetReply) {
  CnameMatch m;
  if (!findCname(q, m)) return;
  std::unique_lock<std::mutex> spare;
  if (q.worker >= scratch_.size() - 1) spare = std::unique_lock<std::mutex>(spareMutex_);
  std::vector<uint8_t>& out = scratch(q);
  out.clear();
  const std::span<const uint8_t> first(q.reply);
  const Pass none{};  // no rule: names are copied as they are
  dns::RecordWalker walk(first);
  dns::Record r;
  if (!walk.next(r)) return;
  out.insert(out.end(), first.begin(), first.begin() + static_cast<std::ptrdiff_t>(r.start));  // header, question
  uint16_t counts[3] = {0, 0, 0};
  bool ok = true;
  size_t index = 0;
  bool more = true;
  for (; ok && more && r.section == dns::Section::Answer; ++index, more = walk.next(r)) {
    if (index > m.index || r.type != dns::rrtype::CNAME) continue;
    if (index < m.index) {
      ok = copyRecord(none, first, r, out);
    } else {
      size_t end = 0;
      ok = copyName(none, true, first, r.start, out, end);
      put16(out, r.type);
      put16(out, r.klass);
      put32(out, r.ttl);
      put16(out, static_cast<uint16_t>(m.wireLen));
      out.insert(out.end(), m.wire.begin(), m.wire.begin() + static_cast<std::ptrdiff_t>(m.wireLen));
    }
    ++counts[0];
  }
  dns::RecordWalker second(targetReply);
  for (dns::Record t; ok && second.next(t) && t.section == dns::Section::Answer;) {
    ok = copyRecord(none, targetReply, t, out);
    ++counts[0];
  }
  for (; ok && more; more = walk.next(r)) {
    ok = copyRecord(none, first, r, out);
    ++counts[r.section == dns::Section::Authority ? 1 : 2];
  }
  if (!ok || !walk.done() || out.size() > dns::kMaxMessage) return;  // left as it was
  dns::Header h = dns::Header::read(first.data());
  const dns::Header t = dns::Header::read(targetReply.data());
  h.flags = static_cast<uint16_t>((h.flags & ~dns::flag::TC) | (t.flags & dns::flag::TC));
  h.ancount = counts[0];
  h.nscount = counts[1];
  h.arcount = counts[2];
  h.write(out.data());
  q.reply.assign(out.begin(), out.end());
}

// The reply side of edns0 rules: the options of `revert` rules that fired taken out of the
// reply's OPT, and the OPT the rules gave a query without EDNS taken off the request and the
// reply again, the reply fitted to the 512 bytes such a client takes.
void RewriteHandler::finishEdns(dns::Query& q) {
  const uint64_t reverts = q.rewriteFired & revertRules_;
  for (size_t i = 0; i < config_.rules.size() && i < 64; ++i) {
    if (((reverts >> i) & 1u) != 0) revertEdns0(config_.rules[i], q.reply);
  }
  if (q.rewriteAddedOpt) {
    dns::removeQueryOpt(q);
    dns::removeReplyOpt(q.reply);
    q.rewriteAddedOpt = false;
    dns::finalizeReply(q.reply, q.view, q.proto);
  }
}

}  // namespace moat::plugins::rewrite
