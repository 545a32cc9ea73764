#include "tests/support/kdig.hpp"

#include <sstream>

#include "tests/support/server_process.hpp"

namespace moat::testing {

std::string kdig(uint16_t port, const std::vector<std::string>& args, const std::string& server) {
  std::vector<std::string> argv = {"kdig", "-p", std::to_string(port), "@" + server, "+time=3", "+retry=0"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  runCommand(argv, out);
  return out;
}

std::string normalizedRecord(const std::string& line) {
  std::istringstream in(line);
  std::string word, out;
  while (in >> word) out += (out.empty() ? "" : " ") + word;
  return out;
}

std::vector<std::string> kdigRecords(const std::string& output) {
  std::vector<std::string> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == ';') continue;
    out.push_back(normalizedRecord(line));
  }
  return out;
}

std::multiset<std::string> transferredZone(const std::string& output) {
  const std::vector<std::string> records = kdigRecords(output);
  if (records.size() < 2 || records.front() != records.back() ||
      records.front().find(" IN SOA ") == std::string::npos) {
    return {};
  }
  return {records.begin(), records.end() - 1};
}

}  // namespace moat::testing
