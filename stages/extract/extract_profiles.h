// Site profiles: per-site XPath selectors for title, lead, body, captions, related items and date,
// loaded from YAML files (config/sites/*.yaml, docs/extract.md) and compiled once at stage start.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stages/runtime/config_error.h"

struct _xmlDoc;
struct _xmlNode;
struct _xmlXPathCompExpr;

namespace vnawire::extract {

// One XPath 1.0 expression as written and as compiled; copies share the compiled form, which is only
// read while evaluating.
class XPath {
 public:
  XPath() = default;
  XPath(std::string source, std::shared_ptr<_xmlXPathCompExpr> compiled)
      : source_(std::move(source)), compiled_(std::move(compiled)) {}
  bool empty() const { return compiled_ == nullptr; }
  const std::string& source() const { return source_; }
  // The nodes the expression selects in `doc`, in document order; empty for a non-node-set result.
  std::vector<_xmlNode*> nodes(_xmlDoc* doc) const;
  // The strings it gives: a node-set's node texts (attributes give their value), or a string, number
  // or boolean result as one string. White space is folded; empty strings are left out.
  std::vector<std::string> strings(_xmlDoc* doc) const;
  // Whether it matches: a non-empty node-set, a true boolean, a non-zero number or a non-empty string.
  bool matches(_xmlDoc* doc) const;

 private:
  std::string source_;
  std::shared_ptr<_xmlXPathCompExpr> compiled_;
};

struct SiteProfile {
  std::string name;
  std::string file;  // where it was read, for logs
  // Match rule: every given part must hold. A host entry matches that host and its subdomains.
  std::vector<std::string> hosts;
  XPath match_xpath;
  // Fields; an empty selector leaves the field to the built-in reading.
  XPath title, lead, body, captions, related, published;
  std::vector<XPath> remove;  // nodes dropped before anything is read (share boxes, ads)
};

// A problem in a profile file, printed as file:line:col: key: reason like the pipeline file's.
using ProfileError = runtime::ConfigError;

class SiteProfiles {
 public:
  // Reads every *.yaml and *.yml file of `dir` in name order; all problems of all files are reported.
  static SiteProfiles load_dir(const std::filesystem::path& dir, std::vector<ProfileError>& errors);
  // Reads one profile from YAML text; `file` names it in errors.
  static std::optional<SiteProfile> parse(const std::string& text, const std::string& file,
                                          std::vector<ProfileError>& errors);

  void add(SiteProfile profile) { profiles_.push_back(std::move(profile)); }
  std::size_t size() const { return profiles_.size(); }
  bool empty() const { return profiles_.empty(); }
  const std::vector<SiteProfile>& all() const { return profiles_; }
  // The first profile (in file-name order) whose match rule accepts the page at `url`.
  const SiteProfile* match(_xmlDoc* doc, std::string_view url) const;

 private:
  std::vector<SiteProfile> profiles_;
};

// The host of an absolute URL, lower case, without port or user info; empty when there is none.
std::string host_of(std::string_view url);

}  // namespace vnawire::extract
