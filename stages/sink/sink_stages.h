// The sink stages' descriptors (registered in stages/registry.cc).
#pragma once

#include <string>
#include <vector>

#include "stages/runtime/stage.h"

namespace vnawire::sink {

const runtime::StageDescriptor& jsonl_descriptor();
const runtime::StageDescriptor& sqlite_descriptor();
const runtime::StageDescriptor& postgres_descriptor();
const runtime::StageDescriptor& webhook_descriptor();
const runtime::StageDescriptor& exec_descriptor();

// A replica blocked in a call sends no heartbeat: past pipeline.stage_timeout_ms the daemon kills it as
// hung. The problem (at most one) of option `key`, whose value `shown` lets a replica block `ms` while
// `doing` ("waiting that long on a lock"), when that is not below the stage timeout.
inline std::vector<runtime::OptionProblem> below_stage_timeout(const std::string& key, const std::string& shown,
                                                               std::int64_t ms, const runtime::Options& pipeline,
                                                               const std::string& doing) {
  const auto stage_timeout = pipeline.get_int("stage_timeout_ms");
  if (ms < stage_timeout) return {};
  return {{key, shown + " must be below pipeline.stage_timeout_ms (" + std::to_string(stage_timeout) + "): a replica " +
                    doing + " is killed as hung"}};
}

// The columns both the SQLite sink and `vnawire demo` read: kept in one place.
inline constexpr const char* kSqliteSchema = R"sql(
CREATE TABLE IF NOT EXISTS documents (
  id TEXT PRIMARY KEY,
  url TEXT,
  lang TEXT,
  title TEXT,
  published TEXT,
  dateline_place TEXT,
  dateline_date TEXT,
  record TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  first_stored_at TEXT NOT NULL,
  stored_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_published ON documents(published);
CREATE INDEX IF NOT EXISTS documents_lang ON documents(lang);
)sql";

}  // namespace vnawire::sink
