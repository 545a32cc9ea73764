// Corefile text -> AST, following the Caddy lexer/parser CoreDNS uses: quotes, comments,
// {$ENV}/{%ENV%}, `import` of files, globs and snippets, one block without braces.
// Pure: the only I/O is reading the Corefile's imports, through the Source interface.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"

namespace moat::conf {

// Where imports come from. Tests use an in-memory source; the server uses the file system.
class Source {
 public:
  virtual ~Source() = default;
  // Contents of a file, nullopt if it cannot be read (error text in `why`).
  virtual std::optional<std::string> read(const std::string& path, std::string& why) const = 0;
  // Paths matching a glob pattern (at most one `*` or `?` wildcard), sorted.
  virtual std::vector<std::string> glob(const std::string& pattern) const = 0;
  virtual bool isDirectory(const std::string& path) const = 0;
};

class FileSource final : public Source {
 public:
  std::optional<std::string> read(const std::string& path, std::string& why) const override;
  std::vector<std::string> glob(const std::string& pattern) const override;
  bool isDirectory(const std::string& path) const override;
};

using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup processEnv();  // getenv

struct ParseOptions {
  const Source* source = nullptr;  // default: FileSource
  EnvLookup env;                   // default: processEnv()
  std::vector<Diag>* warnings = nullptr;  // unmatched import globs and the like
};

// `path` names the text for positions and is the base for relative imports.
Result<Corefile> parseCorefile(std::string_view text, const std::string& path,
                               const ParseOptions& options = {});

// Reads `path` through options.source and parses it.
Result<Corefile> loadCorefile(const std::string& path, const ParseOptions& options = {});

}  // namespace moat::conf
