// Helpers for the loader and store tests: a scratch directory, loading a text into a cluster,
// and capturing what the plugin logs.
#pragma once

#include <doctest/doctest.h>
#include <spdlog/sinks/sink.h>

#include "dns/log.hpp"
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>

#include "plugins/kubernetes/ip_test_util.hpp"
#include "plugins/kubernetes/objects.hpp"

namespace moat::plugins::kubernetes::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "moat-k8s-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes `text` to a temporary name, then renames it into place (as kubectl sidecars do).
  std::string write(const std::string& name, const std::string& text) const {
    const std::string target = file(name);
    std::filesystem::create_directories(std::filesystem::path(target).parent_path());
    const std::string tmp = target + ".tmp~";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
    }
    std::filesystem::rename(tmp, target);
    return target;
  }

 private:
  std::string path_;
};

struct Loaded {
  ClusterPtr cluster;
  std::optional<conf::Diag> error;
};

inline Loaded loadString(const std::string& text, const std::string& file = "objects.yaml") {
  Cluster::Builder builder;
  Loaded out;
  out.error = loadText(builder, text, file);
  if (!out.error) out.cluster = builder.build(1);
  return out;
}

// The cluster `text` loads into; fails the test on an error.
inline ClusterPtr load(const std::string& text, const std::string& file = "objects.yaml") {
  Loaded l = loadString(text, file);
  if (l.error) FAIL_CHECK(l.error->str());
  REQUIRE(l.cluster);
  return l.cluster;
}

// "file:line:col: message" of the error `text` gives, or "" if it loads.
inline std::string loadError(const std::string& text, const std::string& file = "objects.yaml") {
  Loaded l = loadString(text, file);
  return l.error ? l.error->str() : std::string();
}

// Routes spdlog's default logger into a string (message text only) for the object's scope.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()), sink_(std::make_shared<Sink>()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return sink_->text(); }

 private:
  // Appends under its own lock, so the test may read while the poller thread logs. Lines are
  // formatted as the server prints them ("[ERROR] ..."), by the server's own formatter.
  class Sink : public spdlog::sinks::sink {
   public:
    void log(const spdlog::details::log_msg& msg) override {
      std::lock_guard lock(mu_);
      spdlog::memory_buf_t line;
      formatter_->format(msg, line);
      text_.append(line.data(), line.size());
    }
    void flush() override {}
    void set_pattern(const std::string&) override {}
    void set_formatter(std::unique_ptr<spdlog::formatter>) override {}
    std::string text() const {
      std::lock_guard lock(mu_);
      return text_;
    }

   private:
    mutable std::mutex mu_;
    std::string text_;
    std::unique_ptr<spdlog::formatter> formatter_ = logging::makeFormatter();
  };

  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<Sink> sink_;
};

}  // namespace moat::plugins::kubernetes::testing
