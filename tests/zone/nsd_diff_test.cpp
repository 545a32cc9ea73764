// The file plugin against NSD: one generated zone (and its DNSSEC-signed copy) served by both,
// a few thousand questions asked of both, every reply compared. NSD is the reference: a
// difference is a bug in Moat unless it falls in a category CoreDNS's `file` is known to
// differ in (below). Environment:
//   MOAT_ZONE_DIFF_BINARY=path    run that moat binary instead of the one built here
//   MOAT_ZONE_DIFF_AGAINST_NSD=1  compare NSD with a second NSD: the harness's own check, which
//                                 must report no difference at all
//   MOAT_ZONE_DIFF_KEEP=dir       also copy the zone files served into dir, to replay a
//                                 difference by hand (nsd-checkzone, dig against either server)
//   MOAT_ZONE_DIFF_SHOW=n         print the first n differences (default 30)
#include <unistd.h>

#include <doctest/doctest.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dns/ldns.hpp"
#include "tests/support/dns_test_util.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/server_process.hpp"
#include "tests/zone/generated_zone.hpp"
#include "tests/zone/nsd_process.hpp"
#include "tests/zone/reply_diff.hpp"

using namespace moat::testing;
using namespace moat::testing::zone;

namespace {

constexpr const char* kOrigin = "zone.test.";
constexpr uint32_t kSeed = 20240101;
constexpr int kHosts = 220;
constexpr uint16_t kBufferSize = 4096;  // nothing in the zone truncates at this size

struct Question {
  std::string name;
  uint16_t type = 1;
  bool edns = true;
  bool dnssecOk = false;

  std::string text() const {
    char* typeName = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
    std::string out = name + " " + (typeName != nullptr ? typeName : "?");
    std::free(typeName);
    if (dnssecOk) out += " DO";
    if (!edns) out += " noedns";
    return out;
  }
};

uint16_t typeCode(const std::string& name) { return static_cast<uint16_t>(ldns_get_rr_type_by_name(name.c_str())); }

std::string mixedCase(std::string name, std::mt19937& random) {
  for (char& c : name) {
    if (std::isalpha(static_cast<unsigned char>(c)) && random() % 2 == 0) c = static_cast<char>(std::toupper(c));
  }
  return name;
}

// Every owner with its own types and the common ones; every probe with the common ones;
// delegation points also with DS; the apex with DNSKEY when signed. One in ten names in mixed
// case, one question in twenty-five without EDNS. Signed: each question with and without DO.
std::vector<Question> questions(const GeneratedZone& zone, bool signedZone) {
  static const std::vector<std::string> kCommon = {"A", "AAAA", "MX", "TXT", "NS", "SOA", "CNAME"};
  std::mt19937 random(kSeed + 1);
  std::vector<std::pair<std::string, std::set<std::string>>> asks;
  for (const auto& [owner, types] : zone.owners()) {
    std::set<std::string> ask(types.begin(), types.end());
    ask.insert(kCommon.begin(), kCommon.end());
    asks.emplace_back(owner, ask);
  }
  const std::set<std::string> common(kCommon.begin(), kCommon.end());
  for (const std::string& probe : zone.probes) asks.emplace_back(probe, common);
  for (const std::string& cut : zone.cuts) asks.emplace_back(cut, std::set<std::string>{"DS", "NS", "A"});
  asks.emplace_back(kOrigin, std::set<std::string>{"DS", "CAA", "SRV"});
  if (signedZone) {
    asks.emplace_back(kOrigin, std::set<std::string>{"DNSKEY", "NSEC"});
    asks.emplace_back(zone.rrsets.back().owner, std::set<std::string>{"NSEC"});
  }

  std::vector<Question> out;
  for (const auto& [name, types] : asks) {
    for (const std::string& type : types) {
      Question q{name, typeCode(type)};
      if (random() % 10 == 0) q.name = mixedCase(q.name, random);
      if (random() % 25 == 0) q.edns = false;
      if (!signedZone) {
        out.push_back(q);
        continue;
      }
      q.edns = true;
      out.push_back(q);
      q.dnssecOk = true;
      out.push_back(q);
    }
  }
  return out;
}

Reply ask(uint16_t port, const Question& q, uint16_t id) {
  QuerySpec spec{q.name, q.type};
  spec.id = id;
  spec.rd = false;
  if (q.edns) spec.edns = kBufferSize;
  spec.dnssecOk = q.dnssecOk;
  auto query = makeQuery(spec);
  for (int attempt = 0; attempt < 2; ++attempt) {  // loopback UDP rarely drops; once is enough
    auto wire = exchangeUdp(port, query, std::chrono::milliseconds(1500));
    if (!wire.empty()) return decode(wire);
  }
  return Reply{};
}

// The zone is loaded once its apex SOA comes back authoritative.
bool servesZone(uint16_t port) {
  return eventually([&] {
    Reply r = ask(port, Question{kOrigin, typeCode("SOA")}, 1);
    return r.ok && r.rcode == LDNS_RCODE_NOERROR && r.aa && !r.answer.empty();
  });
}

size_t shownDifferences() {
  const char* value = std::getenv("MOAT_ZONE_DIFF_SHOW");
  return value != nullptr ? std::strtoul(value, nullptr, 10) : 30;
}

bool againstNsd() {
  const char* value = std::getenv("MOAT_ZONE_DIFF_AGAINST_NSD");
  return value != nullptr && std::string(value) == "1";
}

// The server checked against NSD: Moat's `file` plugin, or a second NSD (againstNsd()).
class Contender {
 public:
  explicit Contender(const std::string& zonefile) {
    if (againstNsd()) {
      name_ = "nsd2";
      nsd_ = std::make_unique<NsdProcess>(dir_, kOrigin, zonefile);
      return;
    }
    name_ = "moat";
    const std::string corefile = std::string(kOrigin) + ":@PORT@ {\n    file " + zonefile + "\n}\n";
    const char* binary = std::getenv("MOAT_ZONE_DIFF_BINARY");
    moat_ = binary != nullptr ? std::make_unique<ServerProcess>(binary, dir_, corefile)
                              : std::make_unique<ServerProcess>(dir_, corefile);
  }
  const std::string& name() const { return name_; }
  uint16_t port() const { return nsd_ ? nsd_->port() : moat_->port(); }
  std::string log() const { return nsd_ ? nsd_->log() : moat_->stdoutText() + moat_->stderrText(); }

 private:
  TempDir dir_;
  std::string name_;
  std::unique_ptr<NsdProcess> nsd_;
  std::unique_ptr<ServerProcess> moat_;
};

struct Tally {
  size_t queries = 0, differing = 0, outOfZoneCname = 0;
  size_t unansweredByNsd = 0;  // the reference must answer everything, or nothing was compared
  std::map<std::string, size_t> byFields;  // differing questions by what differs: "rcode+answer"
  std::vector<std::string> shown;
};

// Asks both servers every question and compares. A differing question whose NSD answer ends
// in a CNAME leaving the zone is category (b): CoreDNS's file chases such a target through
// the server (here nothing else is in the chain), NSD gives the CNAME alone. (a), the NS set
// CoreDNS adds to positive answers, cannot show: authority is compared only for empty answers;
// (c), additional content, is not compared.
Tally compare(const std::vector<Question>& asked, uint16_t nsdPort, const Contender& other) {
  const size_t limit = shownDifferences();
  Tally tally;
  uint16_t id = 1;
  for (const Question& q : asked) {
    ++tally.queries;
    ++id;
    Reply reference = ask(nsdPort, q, id);
    Reply answer = ask(other.port(), q, id);
    if (!reference.ok) ++tally.unansweredByNsd;
    auto found = differences(q.text(), reference, answer, other.name());
    if (found.empty()) continue;
    const std::string end = cnameEnd(reference.answer, q.name);
    if (end != lower(q.name) && !inZone(end, kOrigin)) {
      ++tally.outOfZoneCname;
      continue;
    }
    ++tally.differing;
    std::string fields;
    for (const Difference& d : found) {
      fields += (fields.empty() ? "" : "+") + d.field;
      if (tally.shown.size() < limit) tally.shown.push_back(d.line);
    }
    ++tally.byFields[fields];
  }
  return tally;
}

std::string summary(const Tally& tally, const std::string& what) {
  std::ostringstream out;
  out << "nsd-diff: " << tally.queries << " queries, " << tally.differing << " differences, " << tally.outOfZoneCname
      << " out-of-zone CNAME (category b) [" << what << "]";
  if (tally.unansweredByNsd != 0) out << "\n  nsd did not answer " << tally.unansweredByNsd << " questions";
  if (!tally.byFields.empty()) {
    out << "\n  differing in:";
    for (const auto& [fields, count] : tally.byFields) out << " " << fields << " " << count << ";";
  }
  return out.str();
}

void keepCopy(const std::string& zonefile) {
  const char* keep = std::getenv("MOAT_ZONE_DIFF_KEEP");
  if (keep == nullptr) return;
  std::error_code error;
  const auto target = std::filesystem::path(keep) / std::filesystem::path(zonefile).filename();
  std::filesystem::copy_file(zonefile, target, std::filesystem::copy_options::overwrite_existing, error);
  CHECK_MESSAGE(!error, "MOAT_ZONE_DIFF_KEEP: " << target << ": " << error.message());
}

void runDiff(const std::string& zonefile, const std::vector<Question>& asked, const std::string& what) {
  keepCopy(zonefile);
  TempDir nsdDir;
  NsdProcess nsd(nsdDir, kOrigin, zonefile);
  REQUIRE_MESSAGE(servesZone(nsd.port()), "nsd did not load " << zonefile << ": " << nsd.log());
  Contender other(zonefile);
  REQUIRE_MESSAGE(servesZone(other.port()), other.name() << " did not load " << zonefile << ": " << other.log());

  const auto start = std::chrono::steady_clock::now();
  Tally tally = compare(asked, nsd.port(), other);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);

  std::string shown;
  for (const std::string& line : tally.shown) shown += "\n  " + line;
  MESSAGE(summary(tally, what + ", " + other.name() + " vs nsd, " + std::to_string(took.count()) + " ms") << shown);
  CHECK(tally.unansweredByNsd == 0);
  CHECK(tally.differing == 0);
}

// Signs `zonefile` with a fresh KSK and ZSK (ECDSA P-256) and NSEC, ldns-signzone's default;
// returns the signed file's path, empty when ldnsutils is not installed (a failure: CI has it).
std::string signZone(const TempDir& dir, const std::string& zonefile) {
  if (::access("/usr/bin/ldns-keygen", X_OK) != 0 || ::access("/usr/bin/ldns-signzone", X_OK) != 0) return "";
  const std::string script = "cd '" + dir.path() + "' && ksk=$(ldns-keygen -a ECDSAP256SHA256 -k " + kOrigin +
                             ") && zsk=$(ldns-keygen -a ECDSAP256SHA256 " + kOrigin +
                             ") && ldns-signzone -f '" + zonefile + ".signed' -o " + kOrigin + " '" + zonefile +
                             "' \"$ksk\" \"$zsk\"";
  std::string out;
  REQUIRE_MESSAGE(runCommand({"/bin/sh", "-c", script + " 2>&1"}, out) == 0, "signing failed: " << out);
  return zonefile + ".signed";
}

}  // namespace

TEST_CASE("the file plugin answers a generated zone as NSD does") {
  TempDir dir;
  GeneratedZone zone = ZoneGenerator(kOrigin, kSeed).generate(kHosts);
  const std::string zonefile = dir.write("zone.test.zone", zone.text());
  runDiff(zonefile, questions(zone, false), "unsigned");
}

TEST_CASE("the file plugin answers the generated zone signed with NSEC as NSD does, with and without DO") {
  TempDir dir;
  GeneratedZone zone = ZoneGenerator(kOrigin, kSeed).generate(kHosts);
  const std::string signedFile = signZone(dir, dir.write("zone.test.zone", zone.text()));
  REQUIRE_MESSAGE(!signedFile.empty(),
                  "ldns-keygen/ldns-signzone missing (Debian ldnsutils, .ci/deps installs it)");
  runDiff(signedFile, questions(zone, true), "signed NSEC");
}
