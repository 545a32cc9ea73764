#include "plugins/kubernetes/objects.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "plugins/kubernetes/objects_formats.hpp"
#include "plugins/kubernetes/objects_kinds.hpp"

namespace moat::plugins::kubernetes {

namespace {

namespace fs = std::filesystem;
using objects::ObjectError;

conf::Diag fileError(const std::string& file, std::string why) {
  return conf::errorAt(conf::Pos{file, 0, 0}, std::move(why));
}

bool blank(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Counts lines up to a byte offset. `next` yields the input again from the start.
class LineCounter {
 public:
  void feed(const char* p, size_t n, uint64_t& left) {
    for (size_t i = 0; i < n && left > 0; ++i, --left) {
      if (p[i] == '\n') {
        ++line_;
        col_ = 1;
      } else {
        ++col_;
      }
    }
  }
  conf::Pos pos(const std::string& file) const { return conf::Pos{file, line_, col_}; }

 private:
  uint32_t line_ = 1, col_ = 1;
};

conf::Pos yamlPos(const std::string& file, objects::Where where) {
  if (where == objects::kNowhere) return conf::Pos{file, 0, 0};
  return conf::Pos{file, static_cast<uint32_t>(where >> 32), static_cast<uint32_t>(where)};
}

conf::Pos jsonPosInText(const std::string& file, std::string_view text, objects::Where where) {
  if (where == objects::kNowhere) return conf::Pos{file, 0, 0};
  LineCounter lines;
  uint64_t left = where;
  lines.feed(text.data(), text.size(), left);
  return lines.pos(file);
}

// Errors are rare: the file is read a second time to turn a JSON offset into line:col.
conf::Pos jsonPosInFile(const std::string& file, objects::Where where) {
  if (where == objects::kNowhere) return conf::Pos{file, 0, 0};
  std::ifstream in(file, std::ios::binary);
  LineCounter lines;
  uint64_t left = where;
  char buf[65536];
  while (left > 0) {
    in.read(buf, sizeof buf);
    if (in.gcount() <= 0) break;
    lines.feed(buf, static_cast<size_t>(in.gcount()), left);
  }
  return lines.pos(file);
}

// True when the text (after whitespace and a UTF-8 BOM) starts like JSON.
bool looksLikeJson(std::string_view head) {
  if (head.starts_with("\xEF\xBB\xBF")) head.remove_prefix(3);
  size_t i = 0;
  while (i < head.size() && blank(head[i])) ++i;
  return i < head.size() && (head[i] == '{' || head[i] == '[');
}

template <class F>
std::optional<conf::Diag> guarded(const std::string& file, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {  // bad_alloc and the like: never out of the API
    return fileError(file, e.what());
  }
}

}  // namespace

bool isObjectFileName(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  auto ends = [&](std::string_view ext) {
    if (name.size() <= ext.size()) return false;
    auto tail = name.substr(name.size() - ext.size());
    return std::equal(tail.begin(), tail.end(), ext.begin(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == b;
    });
  };
  return ends(".yaml") || ends(".yml") || ends(".json");
}

conf::Result<std::vector<std::string>> objectFiles(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fileError(path, std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
      out.push_back(path);
      continue;
    }
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!isObjectFileName(name)) continue;
      struct stat entry {};  // follows symlinks: ConfigMap entries are links through ..data
      if (::stat(it->path().c_str(), &entry) == 0 && S_ISREG(entry.st_mode)) names.push_back(name);
    }
    if (ec) return fileError(path, ec.message());
    std::sort(names.begin(), names.end());
    const std::string dir = path.ends_with('/') ? path : path + '/';
    for (const std::string& name : names) out.push_back(dir + name);
  }
  return out;
}

std::optional<conf::Diag> loadText(Cluster::Builder& builder, std::string_view text,
                                   const std::string& file) {
  return guarded(file, [&]() -> std::optional<conf::Diag> {
    objects::ObjectReader reader(builder);
    if (looksLikeJson(text)) {
      try {
        bool given = false;
        objects::parseJson(
            [&]() -> std::string_view { return std::exchange(given, true) ? "" : text; }, reader);
      } catch (ObjectError& e) {
        return conf::errorAt(jsonPosInText(file, text, e.where), std::move(e.message));
      }
      return std::nullopt;
    }
    try {
      std::istringstream in{std::string(text)};
      objects::parseYaml(in, reader);
    } catch (ObjectError& e) {
      return conf::errorAt(yamlPos(file, e.where), std::move(e.message));
    }
    return std::nullopt;
  });
}

std::optional<conf::Diag> loadFile(Cluster::Builder& builder, const std::string& file) {
  return guarded(file, [&]() -> std::optional<conf::Diag> {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fileError(file, std::strerror(errno));
    char head[4096];
    in.read(head, sizeof head);
    const auto got = static_cast<size_t>(in.gcount());
    if (in.bad()) return fileError(file, std::strerror(errno));
    objects::ObjectReader reader(builder);
    if (looksLikeJson(std::string_view(head, got))) {
      std::string buffer(size_t{1} << 20, '\0');
      bool first = true;
      try {
        objects::parseJson(
            [&]() -> std::string_view {
              if (std::exchange(first, false)) return std::string_view(head, got);
              in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
              if (in.bad()) throw ObjectError{objects::kNowhere, std::strerror(errno)};
              return std::string_view(buffer.data(), static_cast<size_t>(in.gcount()));
            },
            reader);
      } catch (ObjectError& e) {
        return conf::errorAt(jsonPosInFile(file, e.where), std::move(e.message));
      }
      return std::nullopt;
    }
    in.clear();
    in.seekg(0);
    try {
      objects::parseYaml(in, reader);
    } catch (ObjectError& e) {
      return conf::errorAt(yamlPos(file, e.where), std::move(e.message));
    }
    return std::nullopt;
  });
}

conf::Result<ClusterPtr> loadObjects(const std::vector<std::string>& paths, uint32_t serial) {
  try {
    auto files = objectFiles(paths);
    if (!files) return files.error();
    Cluster::Builder builder;
    for (const std::string& file : *files)
      if (auto error = loadFile(builder, file)) return std::move(*error);
    return builder.build(serial);
  } catch (const std::exception& e) {  // bad_alloc and the like: never out of the API
    return fileError(paths.empty() ? std::string("objects") : paths.front(), e.what());
  }
}

std::string describeLoad(const LoadStats& s) {
  return fmt::format(
      "loaded {} services, {} endpoint sets ({} addresses), {} pods, {} namespaces, "
      "{} skipped objects",
      s.services, s.endpointSlices, s.endpoints, s.pods, s.namespaces, s.skipped);
}

}  // namespace moat::plugins::kubernetes
