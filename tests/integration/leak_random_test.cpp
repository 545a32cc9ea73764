// The private-zone guarantee as a property (issue 4, "Tests"): random Corefiles built from the
// pieces that matter (private zones, nested ones included, with and without `refuse`; hosts with
// and without fallthrough; forwards from `.`, a private zone or a public one, with `except`
// lists; cache; a second server block), random names (private, deep, MiXeD case, public), every
// one asked over UDP and TCP. A simple model computed from the generated config says where each
// name may go: the upstream may see a name under private zone P only if the first forward that
// would take it (in its server block) has a scope at or under P, and must see public names that
// reach a forward. The seed is printed; MOAT_LEAK_SEED=N replays one run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <sstream>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/leak_probe.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace leak_random_test {

using namespace moat::testing;
using namespace moat::testing::leak;

namespace {

const std::vector<std::string> kPrivatePool = {"internal.company.", "x.internal.company.", "corp.example.",
                                               "lab.home.arpa.", "svc.test."};
const std::vector<std::string> kBlockPool = {"internal.company.", "corp.example.", "home.arpa.", "lab.home.arpa.",
                                             "example.net.", "company.", "local."};
const std::vector<std::string> kFromPool = {".", ".", ".", "internal.company.", "x.internal.company.",
                                            "corp.example.", "lab.home.arpa.", "home.arpa.", "company.",
                                            "example.net.", "local.", "10.in-addr.arpa."};
const std::vector<std::string> kExceptPool = {"internal.company.", "x.internal.company.", "corp.example.",
                                              "example.net.", "sub.example.net.", "lab.home.arpa."};
const std::vector<std::string> kNameZones = {
    "internal.company.", "x.internal.company.", "corp.example.", "lab.home.arpa.", "home.arpa.",
    "svc.test.", "example.net.", "sub.example.net.", "company.", "cluster.local.", "local.",
    "internal.", "10.in-addr.arpa.", "168.192.in-addr.arpa.", "example.com.", "example.org."};
const std::vector<std::string> kLabels = {"api", "db", "www", "a", "deep", "x1", "mixed"};
// The hosts file every hosts stanza reads.
const std::vector<std::pair<std::string, std::string>> kHostsEntries = {
    {"10.0.0.5", "api.internal.company."}, {"10.0.0.7", "api.corp.example."},
    {"10.0.0.8", "api.example.net."},      {"10.0.0.9", "www.lab.home.arpa."}};

struct Forward {
  std::string from;
  std::vector<std::string> except;
};

struct Block {
  std::string zone;  // "." or a zone from kBlockPool
  bool hosts = false, fallthrough = false, cache = false, barePrivate = false;
  std::vector<Forward> forwards;
  std::vector<std::string> stanzas;  // `private` lines written in this block
};

struct Config {
  std::vector<std::string> declared;  // private zones the Corefile declares
  std::vector<std::string> refusing;  // the declared zones with `refuse`
  std::vector<Block> blocks;          // blocks[0] is "."
};

template <typename T>
const T& pick(std::mt19937& rng, const std::vector<T>& from) {
  return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
}
bool coin(std::mt19937& rng, double p = 0.5) { return std::bernoulli_distribution(p)(rng); }

Config generate(std::mt19937& rng) {
  Config c;
  c.blocks.push_back(Block{"."});
  if (coin(rng)) c.blocks.push_back(Block{pick(rng, kBlockPool)});
  int privates = std::uniform_int_distribution<int>(0, 2)(rng);
  for (int i = 0; i < privates; ++i) {
    std::string z = pick(rng, kPrivatePool);
    if (std::find(c.declared.begin(), c.declared.end(), z) != c.declared.end()) continue;
    c.declared.push_back(z);
    bool refuse = coin(rng, 0.25);
    if (refuse) c.refusing.push_back(z);
    if (!refuse && c.blocks.size() == 2 && c.blocks[1].zone == z && !c.blocks[1].barePrivate && coin(rng)) {
      c.blocks[1].barePrivate = true;  // a bare `private` declares its block's zone
      continue;
    }
    std::string line = "private " + z + (refuse ? " {\n        refuse\n    }" : "");
    c.blocks[std::uniform_int_distribution<size_t>(0, c.blocks.size() - 1)(rng)].stanzas.push_back(line);
  }
  for (Block& b : c.blocks) {
    b.hosts = coin(rng, 0.6);
    b.fallthrough = coin(rng, 0.75);
    b.cache = coin(rng);
    int forwards = std::uniform_int_distribution<int>(b.zone == "." ? 1 : 0, 3)(rng);
    for (int i = 0; i < forwards; ++i) {
      Forward f{pick(rng, kFromPool), {}};
      auto same = [&](const Forward& g) { return g.from == f.from; };
      if (std::any_of(b.forwards.begin(), b.forwards.end(), same)) continue;
      for (int e = std::uniform_int_distribution<int>(0, 2)(rng); e > 0; --e) {
        std::string ex = pick(rng, kExceptPool);
        if (ex != f.from && atOrUnder(ex, f.from) &&
            std::find(f.except.begin(), f.except.end(), ex) == f.except.end()) {
          f.except.push_back(ex);
        }
      }
      b.forwards.push_back(f);
    }
    // Mostly most-specific first, as the forward README advises; sometimes not.
    if (coin(rng, 0.8)) {
      std::stable_sort(b.forwards.begin(), b.forwards.end(),
                       [](const Forward& x, const Forward& y) { return x.from.size() > y.from.size(); });
    }
  }
  return c;
}

std::string render(const Config& c, const std::string& hostsPath, const std::string& upstream) {
  std::ostringstream o;
  for (auto it = c.blocks.rbegin(); it != c.blocks.rend(); ++it) {  // zone block first, "." last
    const Block& b = *it;
    o << b.zone << ":@PORT@ {\n    bind 127.0.0.1\n";
    if (b.barePrivate) o << "    private\n";
    for (const auto& s : b.stanzas) o << "    " << s << "\n";
    if (b.hosts) o << "    hosts " << hostsPath << (b.fallthrough ? " {\n        fallthrough\n    }\n" : "\n");
    if (b.cache) o << "    cache 30\n";
    for (const Forward& f : b.forwards) {
      o << "    forward " << f.from << " " << upstream;
      if (!f.except.empty()) o << " {\n        except " << join(f.except, " ") << "\n    }";
      o << "\n";
    }
    o << "}\n";
  }
  return o.str();
}

std::string randomName(std::mt19937& rng) {
  std::string zone = pick(rng, kNameZones);
  std::string name;
  if (coin(rng, 0.25)) {
    name = zone;  // the apex, or an entry of the hosts file
  } else {
    for (int depth = std::uniform_int_distribution<int>(1, 3)(rng); depth > 0; --depth) {
      name += pick(rng, kLabels) + ".";
    }
    name += zone;
  }
  if (coin(rng, 0.2)) name = pick(rng, kHostsEntries).second;
  if (coin(rng, 0.4)) {
    for (char& ch : name) {
      if (coin(rng, 0.5)) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
  }
  return name;
}

// What the model says about one (canonical) name.
struct Outcome {
  bool mayReach = false;     // some forward that takes it is scoped to its private zone (or it is public)
  bool mustReach = false;    // the first forward that takes it is allowed and nothing local answers
  std::string privateZone;   // the deepest private zone it is under, "" for a public name
  bool privateAnswer = false;  // it must get the private answer (nothing local answers, no forward may send)
  std::string why;
};

Outcome model(const Config& c, const std::string& n, const std::string& type) {
  Outcome out;
  out.privateZone = deepestZone(n, privateZones(c.declared));
  const Block* block = &c.blocks[0];
  for (const Block& b : c.blocks) {
    if (atOrUnder(n, b.zone) && b.zone.size() > block->zone.size()) block = &b;
  }
  out.why = "block " + block->zone;
  if (!block->hosts && !block->cache && block->forwards.empty() && block->stanzas.empty() && !block->barePrivate) {
    out.why += " has no plugins: REFUSED";
    return out;
  }
  if (block->hosts && atOrUnder(n, block->zone)) {
    bool known = std::any_of(kHostsEntries.begin(), kHostsEntries.end(), [&](const auto& e) { return e.second == n; });
    if (known || !block->fallthrough) {
      out.why += ", hosts answers";
      return out;  // answered by hosts (data, NODATA, or SERVFAIL without fallthrough)
    }
  }
  bool first = true;
  for (const Forward& f : block->forwards) {
    if (!atOrUnder(n, f.from)) continue;
    if (std::any_of(f.except.begin(), f.except.end(), [&](const std::string& e) { return atOrUnder(n, e); })) continue;
    // Both contain n, so the narrowed scope is the deeper of the two.
    std::string scope = f.from.size() > block->zone.size() ? f.from : block->zone;
    bool allowed = out.privateZone.empty() || atOrUnder(scope, out.privateZone);
    out.why += ", forward " + f.from + " (scope " + scope + (allowed ? ") may send" : ") blocked");
    out.mayReach = out.mayReach || allowed;
    if (first) out.mustReach = allowed;
    first = false;
  }
  out.privateAnswer = !out.privateZone.empty() && !out.mayReach;
  (void)type;
  return out;
}

}  // namespace

TEST_CASE("leak: random Corefiles and names never send a private name through an unscoped forward") {
  uint32_t seed = 20261124;
  if (const char* env = std::getenv("MOAT_LEAK_SEED")) seed = static_cast<uint32_t>(std::strtoul(env, nullptr, 10));
  MESSAGE("leak random seed " << seed << " (MOAT_LEAK_SEED=" << seed << " replays it)");
  std::mt19937 rng(seed);
  const int kConfigs = 20, kNames = 14;
  const std::vector<std::string> types = {"A", "TXT"};
  int leaks = 0, reached = 0, blocked = 0, hatch = 0;

  for (int round = 0; round < kConfigs; ++round) {
    Config cfg = generate(rng);
    std::vector<std::string> names;
    for (int i = 0; i < kNames; ++i) names.push_back(randomName(rng));
    names.push_back("www.example.com");  // always one public name

    FakeUpstream upstream;
    TempDir dir;
    std::string hosts;
    for (const auto& [address, name] : kHostsEntries) hosts += address + " " + name + "\n";
    std::string corefile = render(cfg, dir.write("hosts", hosts), upstream.address());
    INFO("round " << round << " of seed " << seed << ", Corefile:\n" << corefile);
    ServerProcess s(dir, corefile);
    REQUIRE(s.running());

    for (const Asked& a : askAll(s.port(), names, types)) {
      std::string n = canonical(a.name);
      Outcome m = model(cfg, n, a.type);
      INFO(a.what() << "  [model: " << m.why << ", private zone '" << m.privateZone << "']");
      CHECK_MESSAGE(a.reply.ok, "no reply");
      if (m.privateAnswer) {
        bool refusing = std::find(cfg.refusing.begin(), cfg.refusing.end(), m.privateZone) != cfg.refusing.end();
        // The apex of a private zone exists (it has the SOA): NODATA there, NXDOMAIN below.
        std::string why = check(a, refusing ? refused() : n == m.privateZone ? nodata(n) : miss(m.privateZone));
        CHECK_MESSAGE(why.empty(), why);
        ++blocked;
      }
      if (m.mustReach) {
        ++reached;
        if (!m.privateZone.empty()) ++hatch;
        std::string why = check(a, forwarded());
        CHECK_MESSAGE(why.empty(), why);
      }
    }
    // What the upstream saw, against the model: a name it may not see is a leak; a name it must
    // see (first asked over UDP; with cache on, TCP may be answered from the cache) must be there.
    for (const auto& r : upstream.received()) {
      std::string n = canonical(r.name);
      if (n == ".") continue;  // a health check
      Outcome m = model(cfg, n, "A");
      if (!m.mayReach) {
        ++leaks;
        FAIL_CHECK("LEAKED: upstream saw " << r.name << " type " << r.type << (r.tcp ? " tcp" : " udp")
                                           << " [model: " << m.why << ", private zone '" << m.privateZone << "']");
      }
    }
    for (const auto& name : names) {
      Outcome m = model(cfg, canonical(name), "A");
      if (m.mustReach) {
        CHECK_MESSAGE(saw(upstream, name, 1, 0), name << " A udp did not reach the upstream [model: " << m.why
                                                      << "]; it saw:\n  " << everythingSeen(upstream));
      }
    }
  }
  MESSAGE(kConfigs << " Corefiles: " << reached << " queries the model sends upstream (" << hatch
                   << " of them private, through a scoped forward), " << blocked << " it answers privately, "
                   << leaks << " leaks");
  CHECK(reached > 0);
  CHECK(hatch > 0);
  CHECK(blocked > 0);
}

}  // namespace leak_random_test
