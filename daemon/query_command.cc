// `vnawire query`: the questions users ask of the SQLite sink's tables, without writing SQL
// (docs/sinks.md): full-text search, a person's appearances and meetings, events between two countries.
#include <sqlite3.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/commands.h"
#include "stages/extract/extract_entities.h"
#include "stages/sink/sink_sqlite_tables.h"

namespace vnawire::daemon {
namespace {

constexpr const char* kQueryUsage = R"(usage: vnawire query --db FILE [--json] [--limit N] QUESTION
  search TEXT                   documents whose title, lead or body match TEXT (FTS5 syntax: words,
                                "a phrase", OR, NOT; accents ignored), best first
  person NAME                   the person's appearances (date, roles, title) and the events they took
                                part in; NAME in any transliteration ("Sergueï Lavrov", "Sergei Lavrov")
  between CC CC [--from DATE] [--to DATE]
                                events of documents involving both countries (ISO codes: VN RU), by date;
                                with --from or --to, events whose year is unknown (XXXX-03-14) are left out
Output: an aligned table, or a JSON array of objects with --json. FILE: the sink_sqlite database.
)";

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

int fail_query(const std::string& message) {
  std::cerr << "vnawire query: " << message << "\n";
  return 2;
}

// Runs `sql` with its text parameters bound in order; every column as text ("" for NULL).
bool select(sqlite3* db, const std::string& sql, const std::vector<std::string>& parameters, Table& table) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    std::cerr << "vnawire query: " << sqlite3_errmsg(db) << "\n";
    return false;
  }
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    sqlite3_bind_text(statement, static_cast<int>(i + 1), parameters[i].c_str(), -1, SQLITE_TRANSIENT);
  }
  table.columns.clear();
  for (int c = 0; c < sqlite3_column_count(statement); ++c)
    table.columns.emplace_back(sqlite3_column_name(statement, c));
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int c = 0; c < sqlite3_column_count(statement); ++c) {
      const auto* text = sqlite3_column_text(statement, c);
      row.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
    }
    table.rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) std::cerr << "vnawire query: " << sqlite3_errmsg(db) << "\n";
  sqlite3_finalize(statement);
  return rc == SQLITE_DONE;
}

// Display width of UTF-8 text: one per code point (good enough for Latin, Vietnamese and Cyrillic).
std::size_t width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

void print(const Table& table, bool json, const std::string& title) {
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : table.rows) {
      nlohmann::json object = nlohmann::json::object();
      for (std::size_t c = 0; c < row.size(); ++c) object[table.columns[c]] = row[c];
      out.push_back(std::move(object));
    }
    std::cout << out.dump() << "\n";
    return;
  }
  if (!title.empty()) std::cout << title << "\n";
  std::vector<std::size_t> widths;
  for (const auto& column : table.columns) widths.push_back(width(column));
  for (const auto& row : table.rows) {
    for (std::size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], std::min<std::size_t>(width(row[c]), 80));
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
      std::string cell = cells[c];
      std::size_t w = width(cell);
      if (w > 80) {  // cut long titles at a code point boundary
        std::size_t at = 0;
        for (std::size_t seen = 0; at < cell.size() && seen < 79; ++at) seen += (cell[at] & 0xC0) != 0x80;
        while (at < cell.size() && (cell[at] & 0xC0) == 0x80) ++at;
        cell = cell.substr(0, at) + "…";
        w = 80;
      }
      std::cout << cell << (c + 1 < cells.size() ? std::string(widths[c] - w + 2, ' ') : "");
    }
    std::cout << "\n";
  };
  line(table.columns);
  std::vector<std::string> rule;
  for (std::size_t w : widths) rule.emplace_back(w, '-');
  line(rule);
  for (const auto& row : table.rows) line(row);
  std::cout << "(" << table.rows.size() << " row" << (table.rows.size() == 1 ? "" : "s") << ")\n";
}

}  // namespace

int cmd_query(const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(args, {"--db", "--limit", "--from", "--to"}, {"--json"}, parsed, "query")) return 2;
  const std::string* db_path = parsed.get("--db");
  const auto& words = parsed.positional;
  if (db_path == nullptr || words.empty()) {
    std::cerr << kQueryUsage;
    return 2;
  }
  std::string limit = "50";
  if (const std::string* given = parsed.get("--limit"); given != nullptr) {
    if (given->empty() || !std::all_of(given->begin(), given->end(), ::isdigit)) {
      return fail_query("--limit takes a number, not '" + *given + "'");
    }
    limit = *given;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path->c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    const std::string why = db != nullptr ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return fail_query(*db_path + ": " + why);
  }
  sqlite3_busy_timeout(db, 5000);
  struct Closer {
    sqlite3* db;
    ~Closer() { sqlite3_close(db); }
  } closer{db};
  Table version;
  if (!select(db, "PRAGMA user_version", {}, version) || version.rows.empty() ||
      std::stoi(version.rows[0][0]) != sink::kSqliteSchemaVersion) {
    return fail_query(*db_path + " is not a sink_sqlite database of schema version " +
                      std::to_string(sink::kSqliteSchemaVersion) + " (start the pipeline once to migrate it)");
  }
  const bool json = parsed.has("--json");
  const std::string& question = words[0];
  Table table;
  if (question == "search" && words.size() >= 2) {
    std::string text;
    for (std::size_t i = 1; i < words.size(); ++i) text += (i > 1 ? " " : "") + words[i];
    if (!select(db,
                "SELECT coalesce(d.published, '') AS published, d.id, coalesce(d.title, '') AS title "
                "FROM documents_text t JOIN documents d ON d.rowid = t.rowid WHERE documents_text MATCH ?1 "
                "ORDER BY rank LIMIT " +
                    limit,
                {text}, table)) {
      return 1;
    }
    print(table, json, "");
    return 0;
  }
  if (question == "person" && words.size() >= 2) {
    std::string name;
    for (std::size_t i = 1; i < words.size(); ++i) name += (i > 1 ? " " : "") + words[i];
    const std::string key = extract::person_key(name);
    Table appearances, meetings;
    if (!select(db,
                "SELECT coalesce(d.published, '') AS published, p.name, coalesce(p.country, '') AS country, "
                "p.roles, coalesce(d.title, '') AS title FROM document_persons p JOIN documents d ON d.id = "
                "p.document_id WHERE p.person_key = ?1 ORDER BY d.published LIMIT " +
                    limit,
                {key}, appearances) ||
        !select(db,
                "SELECT coalesce(e.start, '') AS start, coalesce(e.type, '') AS type, coalesce(e.place, '') AS place, "
                "(SELECT group_concat(o.name, ', ') FROM event_participants o WHERE o.document_id = e.document_id "
                "AND o.n = e.n AND coalesce(o.person_key, '') <> ?1) AS with_, coalesce(d.title, '') AS title "
                "FROM event_participants x JOIN events e ON e.document_id = x.document_id AND e.n = x.n "
                "JOIN documents d ON d.id = e.document_id WHERE x.person_key = ?1 ORDER BY e.start LIMIT " +
                    limit,
                {key}, meetings)) {
      return 1;
    }
    for (auto& column : meetings.columns) {
      if (column == "with_") column = "with";
    }
    if (json) {
      nlohmann::json out = {
          {"key", key}, {"appearances", nlohmann::json::array()}, {"events", nlohmann::json::array()}};
      for (const auto& [table_of, field] : {std::pair{&appearances, "appearances"}, std::pair{&meetings, "events"}}) {
        for (const auto& row : table_of->rows) {
          nlohmann::json object;
          for (std::size_t c = 0; c < row.size(); ++c) object[table_of->columns[c]] = row[c];
          out[field].push_back(std::move(object));
        }
      }
      std::cout << out.dump() << "\n";
    } else {
      print(appearances, false, "Appearances of " + name + " (key " + key + "):");
      std::cout << "\n";
      print(meetings, false, "Events:");
    }
    return 0;
  }
  if (question == "between" && words.size() == 3) {
    std::string first = words[1], second = words[2];
    for (std::string* code : {&first, &second}) {
      std::transform(code->begin(), code->end(), code->begin(), ::toupper);
      if (code->size() != 2) return fail_query("between takes two ISO country codes (VN RU), not '" + *code + "'");
    }
    const std::string* from = parsed.get("--from");
    const std::string* to = parsed.get("--to");
    if (!select(db,
                "SELECT coalesce(e.start, '') AS start, coalesce(e.type, '') AS type, coalesce(e.place, '') AS place, "
                "coalesce((SELECT group_concat(o.name, ', ') FROM event_participants o WHERE o.document_id = "
                "e.document_id AND o.n = e.n), '') AS participants, coalesce(d.title, '') AS title "
                "FROM events e JOIN documents d ON d.id = e.document_id "
                "WHERE e.document_id IN (SELECT document_id FROM document_countries WHERE country = ?1) "
                "AND e.document_id IN (SELECT document_id FROM document_countries WHERE country = ?2) "
                "AND (?3 = '' OR (e.start >= ?3 AND e.start NOT LIKE 'X%')) "
                "AND (?4 = '' OR (e.start <= ?4 || '~' AND e.start NOT LIKE 'X%')) "
                "ORDER BY e.start LIMIT " +
                    limit,
                {first, second, from != nullptr ? *from : "", to != nullptr ? *to : ""}, table)) {
      return 1;
    }
    print(table, json, "");
    return 0;
  }
  std::cerr << kQueryUsage;
  return 2;
}

}  // namespace vnawire::daemon
