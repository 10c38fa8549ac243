// Loads and checks site profiles (docs/extract.md) and evaluates their XPath selectors on a page.
#include "stages/extract/extract_profiles.h"

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "stages/extract/extract_dom.h"
#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace {

// The fields a profile may select, in the order the docs list them.
const std::vector<std::string>& field_keys() {
  static const std::vector<std::string> kKeys = {"title", "lead", "body", "captions", "related", "published"};
  return kKeys;
}

struct ContextDeleter {
  void operator()(xmlXPathContext* c) const { xmlXPathFreeContext(c); }
};
struct ObjectDeleter {
  void operator()(xmlXPathObject* o) const { xmlXPathFreeObject(o); }
};
using ObjectPtr = std::unique_ptr<xmlXPathObject, ObjectDeleter>;

ObjectPtr evaluate(xmlXPathCompExpr* compiled, xmlDoc* doc) {
  if (compiled == nullptr || doc == nullptr) return {};
  const std::unique_ptr<xmlXPathContext, ContextDeleter> context(xmlXPathNewContext(doc));
  if (!context) return {};
  const dom::QuietLibxml quiet;  // a runtime XPath error (a bad function argument) is a no-match, not noise
  return ObjectPtr(xmlXPathCompiledEval(compiled, context.get()));
}

std::string node_string(xmlNode* n) {
  if (n->type == XML_ELEMENT_NODE || n->type == XML_DOCUMENT_NODE || n->type == XML_HTML_DOCUMENT_NODE) {
    return dom::text_of(n);
  }
  xmlChar* content = xmlNodeGetContent(n);  // attributes, text nodes
  if (content == nullptr) return {};
  std::string out = util::fold_spaces(reinterpret_cast<const char*>(content));
  xmlFree(content);
  return out;
}

// Collects libxml2's message for a failed compile instead of letting it print to stderr.
void keep_message(void* sink, xmlError* error) {
  if (error != nullptr && error->message != nullptr) {
    *static_cast<std::string*>(sink) = util::fold_spaces(error->message);
  }
}

class ProfileReader {
 public:
  ProfileReader(std::string file, std::vector<ProfileError>& errors) : file_(std::move(file)), errors_(errors) {}

  std::optional<SiteProfile> read(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      errors_.push_back(ProfileError{file_, e.mark.line + 1, e.mark.column + 1, "(syntax)", e.msg});
      return std::nullopt;
    }
    if (!root.IsMap()) {
      errors_.push_back(ProfileError{file_, 1, 1, "(document)", "expected a map with name, match and select"});
      return std::nullopt;
    }
    const std::size_t before = errors_.size();
    SiteProfile profile;
    profile.file = file_;
    check_keys(root, "", {"name", "match", "select", "remove"});
    if (const YAML::Node name = required(root, "name")) profile.name = scalar(name, "name");
    if (const YAML::Node match = required(root, "match")) read_match(match, profile);
    if (const YAML::Node selectors = required(root, "select")) read_select(selectors, profile);
    if (const YAML::Node drops = root["remove"]) {
      if (!drops.IsSequence()) {
        error(drops, "remove", "expected a list of XPath expressions");
      } else {
        for (std::size_t i = 0; i < drops.size(); ++i) {
          profile.remove.push_back(xpath(drops[i], "remove[" + std::to_string(i) + "]"));
        }
      }
    }
    if (errors_.size() != before) return std::nullopt;
    return profile;
  }

 private:
  void error(const YAML::Node& node, const std::string& key, std::string reason) {
    const YAML::Mark mark = node.Mark();
    errors_.push_back(ProfileError{file_, mark.line >= 0 ? mark.line + 1 : 0, mark.column >= 0 ? mark.column + 1 : 0,
                                   key, std::move(reason)});
  }

  void check_keys(const YAML::Node& map, const std::string& path, const std::vector<std::string>& known) {
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        error(entry.first, path + key, "unknown key (known: " + list + ")");
      }
    }
  }

  // The node at `key` of `map`, or an error at the map (the key is missing, so it has no place of its own).
  YAML::Node required(const YAML::Node& map, const std::string& key) {
    YAML::Node node = map[key];
    if (!node || node.IsNull()) {
      error(map, key, "required");
      return YAML::Node(YAML::NodeType::Undefined);
    }
    return node;
  }

  std::string scalar(const YAML::Node& node, const std::string& key) {
    if (!node.IsScalar() || node.Scalar().empty()) {
      error(node, key, "expected a non-empty string");
      return {};
    }
    return node.Scalar();
  }

  XPath xpath(const YAML::Node& node, const std::string& key) {
    const std::string source = scalar(node, key);
    if (source.empty()) return {};
    std::string message;
    // The handler is per thread; the caller's is put back, as fetch_feed.cc's ErrorCapture does.
    void* const old_context = xmlStructuredErrorContext;
    const xmlStructuredErrorFunc old_handler = xmlStructuredError;
    xmlSetStructuredErrorFunc(&message, keep_message);
    xmlXPathCompExpr* compiled = xmlXPathCompile(reinterpret_cast<const xmlChar*>(source.c_str()));
    xmlSetStructuredErrorFunc(old_context, old_handler);
    if (compiled == nullptr) {
      error(node, key, "XPath does not compile" + (message.empty() ? std::string() : ": " + message));
      return {};
    }
    return XPath(source, std::shared_ptr<xmlXPathCompExpr>(compiled, xmlXPathFreeCompExpr));
  }

  void read_match(const YAML::Node& match, SiteProfile& profile) {
    if (!match.IsMap()) return error(match, "match", "expected a map with hosts and/or xpath");
    check_keys(match, "match.", {"hosts", "xpath"});
    if (const YAML::Node hosts = match["hosts"]) {
      if (!hosts.IsSequence() || hosts.size() == 0) {
        error(hosts, "match.hosts", "expected a non-empty list of host names");
      } else {
        for (std::size_t i = 0; i < hosts.size(); ++i) {
          std::string host = util::to_lower(scalar(hosts[i], "match.hosts[" + std::to_string(i) + "]"));
          if (!host.empty() && host.front() == '.') host.erase(0, 1);  // ".example.com" reads as "example.com"
          if (!host.empty()) profile.hosts.push_back(std::move(host));
        }
      }
    }
    if (const YAML::Node probe = match["xpath"]) profile.match_xpath = xpath(probe, "match.xpath");
    if (!match["hosts"] && !match["xpath"]) error(match, "match", "give hosts, xpath or both");
  }

  void read_select(const YAML::Node& selectors, SiteProfile& profile) {
    if (!selectors.IsMap()) return error(selectors, "select", "expected a map of field: XPath");
    check_keys(selectors, "select.", field_keys());
    XPath* targets[] = {&profile.title,    &profile.lead,    &profile.body,
                        &profile.captions, &profile.related, &profile.published};
    bool any = false;
    for (std::size_t i = 0; i < field_keys().size(); ++i) {
      if (const YAML::Node node = selectors[field_keys()[i]]) {
        *targets[i] = xpath(node, "select." + field_keys()[i]);
        any = true;
      }
    }
    if (!any) error(selectors, "select", "select at least one field");
  }

  std::string file_;
  std::vector<ProfileError>& errors_;
};

bool host_matches(const std::string& host, const std::string& rule) {
  return host == rule || (host.size() > rule.size() && util::ends_with(host, "." + rule));
}

}  // namespace

std::vector<xmlNode*> XPath::nodes(xmlDoc* doc) const {
  std::vector<xmlNode*> out;
  const ObjectPtr result = evaluate(compiled_.get(), doc);
  if (!result || result->type != XPATH_NODESET || result->nodesetval == nullptr) return out;
  for (int i = 0; i < result->nodesetval->nodeNr; ++i) out.push_back(result->nodesetval->nodeTab[i]);
  return out;
}

std::vector<std::string> XPath::strings(xmlDoc* doc) const {
  std::vector<std::string> out;
  const ObjectPtr result = evaluate(compiled_.get(), doc);
  if (!result) return out;
  if (result->type == XPATH_NODESET) {
    if (result->nodesetval == nullptr) return out;
    for (int i = 0; i < result->nodesetval->nodeNr; ++i) {
      if (std::string s = node_string(result->nodesetval->nodeTab[i]); !s.empty()) out.push_back(std::move(s));
    }
    return out;
  }
  xmlChar* value = xmlXPathCastToString(result.get());
  if (value != nullptr) {
    if (std::string s = util::fold_spaces(reinterpret_cast<const char*>(value)); !s.empty()) out.push_back(s);
    xmlFree(value);
  }
  return out;
}

bool XPath::matches(xmlDoc* doc) const {
  const ObjectPtr result = evaluate(compiled_.get(), doc);
  return result && xmlXPathCastToBoolean(result.get()) != 0;
}

std::optional<SiteProfile> SiteProfiles::parse(const std::string& text, const std::string& file,
                                               std::vector<ProfileError>& errors) {
  return ProfileReader(file, errors).read(text);
}

SiteProfiles SiteProfiles::load_dir(const std::filesystem::path& dir, std::vector<ProfileError>& errors) {
  SiteProfiles loaded;
  std::error_code ec;
  std::set<std::filesystem::path> files;  // name order, so which profile comes first is decided by the file names
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.insert(entry.path());
  }
  if (ec) {
    errors.push_back(ProfileError{dir.string(), 0, 0, "(directory)", "cannot read: " + ec.message()});
    return loaded;
  }
  std::set<std::string> names;
  for (const std::filesystem::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
      errors.push_back(ProfileError{file.string(), 0, 0, "(file)", "cannot read"});
      continue;
    }
    if (auto profile = parse(text.str(), file.string(), errors)) {
      if (!names.insert(profile->name).second) {
        errors.push_back(ProfileError{file.string(), 1, 1, "name", "another profile is named " + profile->name});
        continue;
      }
      loaded.add(std::move(*profile));
    }
  }
  return loaded;
}

const SiteProfile* SiteProfiles::match(xmlDoc* doc, std::string_view url) const {
  const std::string host = host_of(url);
  for (const SiteProfile& profile : profiles_) {
    if (!profile.hosts.empty() && std::none_of(profile.hosts.begin(), profile.hosts.end(),
                                               [&](const std::string& rule) { return host_matches(host, rule); })) {
      continue;
    }
    if (!profile.match_xpath.empty() && !profile.match_xpath.matches(doc)) continue;
    return &profile;
  }
  return nullptr;
}

std::string host_of(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return {};  // IPv6 literals name no site
  rest = rest.substr(0, rest.find(':'));
  std::string host = util::to_lower(rest);
  if (!host.empty() && host.back() == '.') host.pop_back();
  return host;
}

}  // namespace vnawire::extract
