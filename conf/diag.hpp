// Positions and diagnostics: every config error names file:line:col and what was expected.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace moat::conf {

struct Pos {
  std::string file;
  uint32_t line = 0;  // 1-based
  uint32_t col = 0;   // 1-based

  std::string str() const { return file + ":" + std::to_string(line) + ":" + std::to_string(col); }
};

enum class Severity : uint8_t { Error, Warning, Info };

struct Diag {
  Pos pos;
  std::string message;
  Severity severity = Severity::Error;

  // "Corefile:3:5: forward: expected IP[:port] or a file, got 'x'"; without a line, only the
  // file ("objects.yaml: No such file or directory") or nothing, never a made-up "FILE:0:0".
  std::string str() const {
    if (pos.line == 0) return pos.file.empty() ? message : pos.file + ": " + message;
    return pos.str() + ": " + message;
  }
};

// A value or the error that prevented it. (GCC 12 has no std::expected.)
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit on purpose
  Result(Diag error) : v_(std::move(error)) {}       // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Diag& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Diag> v_;
};

inline Diag errorAt(Pos pos, std::string message) {
  return Diag{std::move(pos), std::move(message), Severity::Error};
}

}  // namespace moat::conf
