// The option binder: every stage's options table is checked and defaulted here, and nowhere else.
#include "stages/runtime/options.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

namespace vnawire::runtime {
namespace {

std::string join_key(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

ConfigError error_at(const YAML::Node& node, const std::string& file, const std::string& key, std::string reason) {
  const YAML::Mark mark = node.Mark();
  return ConfigError{file, mark.line >= 0 ? mark.line + 1 : 0, mark.column >= 0 ? mark.column + 1 : 0, key,
                     std::move(reason)};
}

std::optional<bool> parse_bool(const std::string& s) {
  if (s == "true" || s == "yes" || s == "on" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "no" || s == "off" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::size_t used = 0;
  try {
    long long v = std::stoll(s, &used, 10);
    if (used != s.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<double> parse_double(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::size_t used = 0;
  try {
    double v = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string number_text(double v) {
  std::ostringstream out;
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    out << static_cast<long long>(v);
  } else {
    out << v;
  }
  return out.str();
}

std::string bounds_text(const OptionSpec& spec) {
  if (spec.min && spec.max) return "between " + number_text(*spec.min) + " and " + number_text(*spec.max);
  if (spec.min) return "at least " + number_text(*spec.min);
  if (spec.max) return "at most " + number_text(*spec.max);
  return "";
}

// Converts one scalar or sequence node; returns the reason on failure.
std::variant<OptionValue, std::string> convert(const YAML::Node& node, const OptionSpec& spec) {
  const char* expected = type_name(spec.type);
  if (spec.type == OptionType::Section) {
    if (node.IsMap() || node.IsNull()) return OptionValue(std::monostate{});
    return std::string("expected a map");
  }
  if (spec.type == OptionType::SectionList) {
    if (node.IsSequence() || node.IsNull()) return OptionValue(std::monostate{});
    return std::string("expected a list of maps");
  }
  if (spec.type == OptionType::StringList) {
    if (node.IsScalar()) return OptionValue(std::vector<std::string>{node.Scalar()});
    if (!node.IsSequence()) return std::string("expected a list of strings");
    std::vector<std::string> list;
    for (const auto& item : node) {
      if (!item.IsScalar()) return std::string("expected a list of strings, found a nested structure");
      list.push_back(item.Scalar());
    }
    return OptionValue(std::move(list));
  }
  if (!node.IsScalar()) return std::string("expected ") + expected + ", found a " + (node.IsMap() ? "map" : "list");
  const std::string& text = node.Scalar();
  switch (spec.type) {
    case OptionType::Bool:
      if (auto v = parse_bool(text)) return OptionValue(*v);
      return "expected " + std::string(expected) + ", found '" + text + "'";
    case OptionType::Int: {
      auto v = parse_int(text);
      if (!v) return "expected " + std::string(expected) + ", found '" + text + "'";
      if ((spec.min && static_cast<double>(*v) < *spec.min) || (spec.max && static_cast<double>(*v) > *spec.max)) {
        return "value " + text + " out of bounds: must be " + bounds_text(spec);
      }
      return OptionValue(*v);
    }
    case OptionType::Double: {
      auto v = parse_double(text);
      if (!v) return "expected " + std::string(expected) + ", found '" + text + "'";
      if ((spec.min && *v < *spec.min) || (spec.max && *v > *spec.max)) {
        return "value " + text + " out of bounds: must be " + bounds_text(spec);
      }
      return OptionValue(*v);
    }
    case OptionType::String: {
      if (!spec.choices.empty()) {
        bool found = false;
        for (const auto& choice : spec.choices) found = found || choice == text;
        if (!found) {
          std::string allowed;
          for (const auto& choice : spec.choices) allowed += (allowed.empty() ? "" : ", ") + choice;
          return "'" + text + "' is not one of: " + allowed;
        }
      }
      return OptionValue(text);
    }
    case OptionType::StringList:
    case OptionType::Section:
    case OptionType::SectionList:
      break;
  }
  return std::string("unsupported option type");
}

}  // namespace

const char* type_name(OptionType type) {
  switch (type) {
    case OptionType::Bool:
      return "a boolean";
    case OptionType::Int:
      return "an integer";
    case OptionType::Double:
      return "a number";
    case OptionType::String:
      return "a string";
    case OptionType::StringList:
      return "a list of strings";
    case OptionType::Section:
      return "a map";
    case OptionType::SectionList:
      return "a list of maps";
  }
  return "a value";
}

std::string value_to_string(const OptionValue& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "(none)"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      std::ostringstream out;
      out << d;
      return out.str();
    }
    std::string operator()(const std::string& s) const { return s.empty() ? "\"\"" : s; }
    std::string operator()(const std::vector<std::string>& list) const {
      std::string out = "[";
      for (std::size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + list[i];
      return out + "]";
    }
  };
  return std::visit(Visitor{}, value);
}

bool Options::has(const std::string& key) const {
  auto it = values_.find(key);
  return it != values_.end() && !std::holds_alternative<std::monostate>(it->second);
}

const OptionValue& Options::at(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::logic_error("option '" + key + "' is not declared");
  return it->second;
}

bool Options::get_bool(const std::string& key) const { return std::get<bool>(at(key)); }
std::int64_t Options::get_int(const std::string& key) const { return std::get<std::int64_t>(at(key)); }
double Options::get_double(const std::string& key) const {
  const auto& v = at(key);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}
const std::string& Options::get_string(const std::string& key) const { return std::get<std::string>(at(key)); }
const std::vector<std::string>& Options::get_list(const std::string& key) const {
  return std::get<std::vector<std::string>>(at(key));
}

const std::vector<Options>& Options::get_sections(const std::string& key) const {
  static const std::vector<Options> kNone;
  auto it = sections_.find(key);
  return it == sections_.end() || !it->second ? kNone : *it->second;
}

void Options::set_sections(const std::string& key, std::vector<Options> items) {
  sections_[key] = std::make_shared<const std::vector<Options>>(std::move(items));
}

Options bind_options(const YAML::Node& map, const OptionSpecs& specs, const std::string& file,
                     const std::string& path, std::vector<ConfigError>& errors, int parent_line, int parent_column) {
  Options options;
  if (map.IsDefined() && !map.IsNull() && !map.IsMap()) {
    // Reported once; defaults are still filled so that later checks can read every key.
    errors.push_back(error_at(map, file, path, "expected a map of options"));
  } else if (map.IsDefined() && map.IsMap()) {
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      const OptionSpec* spec = nullptr;
      for (const auto& candidate : specs) {
        if (candidate.key == key) spec = &candidate;
      }
      if (spec == nullptr) {
        std::string known;
        for (const auto& candidate : specs) known += (known.empty() ? "" : ", ") + candidate.key;
        errors.push_back(error_at(entry.first, file, join_key(path, key),
                                  "unknown key (known: " + (known.empty() ? std::string("none") : known) + ")"));
        continue;
      }
      auto converted = convert(entry.second, *spec);
      if (auto* reason = std::get_if<std::string>(&converted)) {
        errors.push_back(error_at(entry.second, file, join_key(path, key), *reason));
        continue;
      }
      options.set(key, std::get<OptionValue>(std::move(converted)));
      if (spec->type == OptionType::SectionList && spec->items && entry.second.IsSequence()) {
        std::vector<Options> items;
        for (std::size_t i = 0; i < entry.second.size(); ++i) {
          const YAML::Node item = entry.second[i];
          const std::string item_path = join_key(path, key) + "[" + std::to_string(i) + "]";
          const YAML::Mark mark = item.Mark();
          if (!item.IsMap()) {
            errors.push_back(error_at(item, file, item_path, "expected a map"));
            continue;
          }
          Options bound = bind_options(item, *spec->items, file, item_path, errors, mark.line + 1, mark.column + 1);
          bound.set_position(mark.line + 1, mark.column + 1);
          items.push_back(std::move(bound));
        }
        options.set_sections(key, std::move(items));
      }
    }
  }
  const bool shape_ok = !map.IsDefined() || map.IsNull() || map.IsMap();
  for (const auto& spec : specs) {
    if (options.has(spec.key)) continue;
    if (spec.required && shape_ok) {
      errors.push_back(ConfigError{file, parent_line, parent_column, join_key(path, spec.key),
                                   "required key is missing (" + spec.doc + ")"});
    }
    options.set(spec.key, spec.default_value);
  }
  return options;
}

Options default_options(const OptionSpecs& specs) {
  Options options;
  for (const auto& spec : specs) options.set(spec.key, spec.default_value);
  return options;
}

std::string describe_options(const OptionSpecs& specs, const std::string& indent) {
  std::ostringstream out;
  for (const auto& spec : specs) {
    out << indent << spec.key << " (" << type_name(spec.type) << ", ";
    if (spec.required) {
      out << "required";
    } else {
      out << "default " << value_to_string(spec.default_value);
    }
    std::string bounds = bounds_text(spec);
    if (!bounds.empty()) out << ", " << bounds;
    if (!spec.choices.empty()) {
      out << ", one of ";
      for (std::size_t i = 0; i < spec.choices.size(); ++i) out << (i ? "|" : "") << spec.choices[i];
    }
    out << ")\n" << indent << "    " << spec.doc << "\n";
    if (spec.type == OptionType::SectionList && spec.items) {
      out << indent << "    each item:\n" << describe_options(*spec.items, indent + "      ");
    }
  }
  return out.str();
}

}  // namespace vnawire::runtime
