// A Corefile as lint sees it: read with the server's parser, every plugin of every block set up
// by its own setup function (as cmd/runtime.cpp does, without event loops), and the typed
// configs the rules need kept per block. Whatever the server would report at start (syntax,
// unknown or repeated directives, option errors, warnings) becomes a finding on the way.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/ast.hpp"
#include "conf/parser.hpp"
#include "conf/zone.hpp"
#include "lint/finding.hpp"
#include "plugins/acl/config.hpp"
#include "plugins/cache/config.hpp"
#include "plugins/egress.hpp"
#include "plugins/file/config.hpp"
#include "plugins/forward/config.hpp"
#include "plugins/hosts/config.hpp"
#include "plugins/kubernetes/config.hpp"
#include "plugins/view/view.hpp"

namespace moat::lint {

// One health, ready or prometheus endpoint, as its setup registered it.
struct HttpEndpoint {
  std::string kind;     // "health", "ready", "prometheus"
  std::string address;  // "host:port" as configured; ":8080" means every address
  conf::Pos pos;        // the directive
};

struct Block {
  const conf::ServerBlock* ast = nullptr;
  std::vector<conf::ServerKey> keys;  // the keys that parsed
  std::vector<std::string> zones;     // normalised, each once, in key order
  std::vector<std::string> binds;     // `bind` addresses; empty: every address
  bool keysOk = true;                 // false when a key failed (zone rules skip the block)

  // Typed configs of the plugins whose setup succeeded (absent when missing or broken).
  std::optional<plugins::hosts::HostsConfig> hosts;
  std::optional<plugins::kubernetes::KubernetesConfig> kubernetes;
  std::optional<plugins::cache::CacheConfig> cache;
  std::optional<plugins::file::FileConfig> file;
  std::vector<plugins::forward::Stanza> forwards;            // Corefile order
  std::vector<const conf::Directive*> forwardDirectives;     // the same order
  std::vector<HttpEndpoint> http;
  std::shared_ptr<const plugins::view::View> view;  // the block's view, when it has one that loads
  std::optional<plugins::acl::AclConfig> acl;

  // The block's directives named `plugin`, in Corefile order.
  std::vector<const conf::Directive*> directives(std::string_view plugin) const;
  const conf::Directive* first(std::string_view plugin) const;
  bool has(std::string_view plugin) const { return first(plugin) != nullptr; }
};

struct Model {
  std::string path;      // the Corefile as named on the command line
  std::string baseDir;   // its directory: relative paths in directives start here
  conf::Corefile corefile;
  std::vector<Block> blocks;
  plugins::PrivateZonesPtr privateZones;  // never null (built-ins alone when stanzas failed)
};

// Parses `text` (the Corefile named `path`: positions and relative paths start there, imports
// come through `source`, the file system when null) and sets it up. Null when it does not
// parse (the syntax/error finding is then in `findings`).
std::unique_ptr<Model> loadModel(const std::string& path, std::string_view text,
                                 const conf::Source* source, Findings& findings);

// Helpers the rules share.
// Lowercased wire form of a normalised zone ("example.org."); empty for an invalid name.
std::vector<uint8_t> wireOf(std::string_view zone);
// The first option line named `option` inside a directive's block, or null.
const conf::Directive* optionLine(const conf::Directive& directive, std::string_view option);
// "a., b. and c." for messages.
std::string listZones(const std::vector<std::string>& zones, size_t limit = 6);

}  // namespace moat::lint
