// Option declarations (one row per key) and the binder that checks a YAML map against them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "stages/runtime/config_error.h"

namespace YAML {
class Node;
}

namespace vnawire::runtime {

// Section: a nested map that another table checks (a stage's `options`). SectionList: a list of maps, each
// checked against the spec's `items` table (the fetch stage's `sources`).
enum class OptionType { Bool, Int, Double, String, StringList, Section, SectionList };

using OptionValue = std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<std::string>>;

struct OptionSpec {
  std::string key;
  OptionType type;
  OptionValue default_value;  // monostate: no default
  std::string doc;            // one sentence
  bool required = false;
  std::optional<double> min;  // Int and Double
  std::optional<double> max;
  std::vector<std::string> choices;  // String: allowed values, empty = any
  std::shared_ptr<const std::vector<OptionSpec>> items;  // SectionList: the table each item is checked against
};

using OptionSpecs = std::vector<OptionSpec>;

class Options {
 public:
  bool has(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::int64_t get_int(const std::string& key) const;
  double get_double(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  const std::vector<std::string>& get_list(const std::string& key) const;
  // A SectionList's items, bound and defaulted; empty when none were given.
  const std::vector<Options>& get_sections(const std::string& key) const;
  // Where an item of a SectionList was written (1-based; 0 when unknown), for messages about its values.
  int line() const { return line_; }
  int column() const { return column_; }
  void set(const std::string& key, OptionValue value) { values_[key] = std::move(value); }
  void set_sections(const std::string& key, std::vector<Options> items);
  void set_position(int line, int column) {
    line_ = line;
    column_ = column;
  }
  const std::map<std::string, OptionValue>& values() const { return values_; }

 private:
  const OptionValue& at(const std::string& key) const;
  std::map<std::string, OptionValue> values_;
  std::map<std::string, std::shared_ptr<const std::vector<Options>>> sections_;
  int line_ = 0;
  int column_ = 0;
};

const char* type_name(OptionType type);
std::string value_to_string(const OptionValue& value);

// Checks `map` (a YAML map, or a null node for "nothing given") against `specs`: fills defaults, and
// appends one error per unknown key, value of the wrong type or out of bounds, and missing required key.
// `path` prefixes keys in errors ("stages[2].options"), `parent_mark_*` locate a missing key.
Options bind_options(const YAML::Node& map, const OptionSpecs& specs, const std::string& file,
                     const std::string& path, std::vector<ConfigError>& errors, int parent_line = 0,
                     int parent_column = 0);

// Every option at its default (for the standalone filters, which take no config file).
Options default_options(const OptionSpecs& specs);

// The reference text of a set of options, one row each: used by `vnawire describe` and docs/.
std::string describe_options(const OptionSpecs& specs, const std::string& indent);

}  // namespace vnawire::runtime
