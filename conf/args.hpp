// Small helpers plugins use to read their directive's arguments, each failing with a
// positioned message that names the plugin and what was expected.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/ast.hpp"
#include "conf/diag.hpp"

namespace moat::conf {

// Integer in [min, max]: "hosts: ttl must be an integer from 1 to 65535, got 'x'".
Result<int64_t> parseInt(const Token& token, std::string_view plugin, std::string_view what,
                         int64_t min, int64_t max);

// Go duration syntax as CoreDNS writes it: "5s", "500ms", "1m30s", "2h", "0".
// A bare number is an error, as in Go.
Result<std::chrono::nanoseconds> parseDuration(const Token& token, std::string_view plugin,
                                               std::string_view what);

// "plugin: message" at the token.
Diag errorAt(const Token& token, std::string_view plugin, std::string_view message);

// Error for an option the plugin does not know: "forward: unknown option 'x'" (+ did-you-mean).
Diag unknownOption(const Directive& option, std::string_view plugin,
                   std::initializer_list<std::string_view> known);

// Error when the option's argument count is outside [min, max].
Result<bool> expectArgs(const Directive& d, std::string_view plugin, size_t min, size_t max);

// Levenshtein distance over bytes.
size_t editDistance(std::string_view a, std::string_view b);

// Levenshtein-closest candidate within distance 2, or empty.
std::string didYouMean(std::string_view word, std::initializer_list<std::string_view> candidates);

}  // namespace moat::conf
