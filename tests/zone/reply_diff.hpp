// How two authoritative answers to one question are compared: rcode, AA, TC, the answer as a
// set of records, the authority likewise when the answer is empty (negative answers,
// referrals). Additional sections are not compared: servers legitimately differ on glue and
// extra addresses there. Names are case-insensitive, so owners (and the names inside name-only
// rdata) are lowered; TXT and other text rdata keep their case.
#pragma once

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/dns_test_util.hpp"

namespace moat::testing::zone {

inline std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// True when `name` is `origin` or below it (both absolute, any case).
inline bool inZone(const std::string& name, const std::string& origin) {
  const std::string n = lower(name), o = lower(origin);
  return n == o || (n.size() > o.size() && n.compare(n.size() - o.size(), o.size(), o) == 0 &&
                    n[n.size() - o.size() - 1] == '.');
}

struct Record {
  std::string owner, ttl, klass, type, rdata;
};

// Splits decode()'s "owner ttl CLASS TYPE rdata" text.
inline Record parseRecord(const std::string& text) {
  Record r;
  std::istringstream in(text);
  in >> r.owner >> r.ttl >> r.klass >> r.type;
  std::getline(in >> std::ws, r.rdata);
  return r;
}

inline std::string normalized(const std::string& text) {
  Record r = parseRecord(text);
  static const std::set<std::string> kNameOnlyRdata = {"CNAME", "DNAME", "NS", "PTR", "MX", "SRV", "SOA"};
  if (kNameOnlyRdata.count(r.type) != 0) r.rdata = lower(r.rdata);
  return lower(r.owner) + " " + r.ttl + " " + r.klass + " " + r.type + " " + r.rdata;
}

inline std::multiset<std::string> recordSet(const std::vector<std::string>& section) {
  std::multiset<std::string> out;
  for (const std::string& rr : section) out.insert(normalized(rr));
  return out;
}

// Where the CNAMEs in `answer` lead from `qname`; `qname` itself when there is none.
inline std::string cnameEnd(const std::vector<std::string>& answer, const std::string& qname) {
  std::string at = lower(qname);
  for (size_t hops = 0; hops <= answer.size(); ++hops) {
    bool moved = false;
    for (const std::string& text : answer) {
      Record r = parseRecord(text);
      if (r.type == "CNAME" && lower(r.owner) == at) {
        at = lower(r.rdata);
        moved = true;
        break;
      }
    }
    if (!moved) break;
  }
  return at;
}

// The records only one side has, "; "-joined.
inline std::string onlyIn(const std::multiset<std::string>& side, const std::multiset<std::string>& other) {
  std::vector<std::string> extra;
  std::set_difference(side.begin(), side.end(), other.begin(), other.end(), std::back_inserter(extra));
  std::string out;
  for (const std::string& rr : extra) out += (out.empty() ? "" : "; ") + rr;
  return "[" + out + "]";
}

struct Difference {
  std::string field;  // "rcode", "aa", "tc", "answer", "authority", "reply"
  std::string line;   // "<question>: <field>: nsd=... <other>=..."
};

// The differences between the reference's reply and the other's. Empty when they agree.
inline std::vector<Difference> differences(const std::string& question, const Reply& nsd, const Reply& other,
                                           const std::string& otherName) {
  std::vector<Difference> out;
  auto differ = [&](const std::string& field, const std::string& a, const std::string& b) {
    out.push_back({field, question + ": " + field + ": nsd=" + a + " " + otherName + "=" + b});
  };
  if (!nsd.ok || !other.ok) {
    if (nsd.ok != other.ok) differ("reply", nsd.ok ? "ok" : "none", other.ok ? "ok" : "none");
    return out;
  }
  auto rcode = [](int code) {
    static const char* kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
    return code >= 0 && code < 6 ? std::string(kNames[code]) : std::to_string(code);
  };
  if (nsd.rcode != other.rcode) differ("rcode", rcode(nsd.rcode), rcode(other.rcode));
  if (nsd.aa != other.aa) differ("aa", std::to_string(nsd.aa), std::to_string(other.aa));
  if (nsd.tc != other.tc) differ("tc", std::to_string(nsd.tc), std::to_string(other.tc));
  const auto nsdAnswer = recordSet(nsd.answer), otherAnswer = recordSet(other.answer);
  if (nsdAnswer != otherAnswer) differ("answer", onlyIn(nsdAnswer, otherAnswer), onlyIn(otherAnswer, nsdAnswer));
  if (nsd.answer.empty() && other.answer.empty()) {
    const auto nsdAuthority = recordSet(nsd.authority), otherAuthority = recordSet(other.authority);
    if (nsdAuthority != otherAuthority) {
      differ("authority", onlyIn(nsdAuthority, otherAuthority), onlyIn(otherAuthority, nsdAuthority));
    }
  }
  return out;
}

}  // namespace moat::testing::zone
