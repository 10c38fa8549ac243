// The sink stages' descriptors (registered in stages/registry.cc).
#pragma once

#include "stages/runtime/stage.h"

namespace vnawire::sink {

const runtime::StageDescriptor& jsonl_descriptor();
const runtime::StageDescriptor& sqlite_descriptor();
const runtime::StageDescriptor& postgres_descriptor();
const runtime::StageDescriptor& webhook_descriptor();
const runtime::StageDescriptor& exec_descriptor();

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
