// The PostgreSQL sink: the SQLite sink's tables and upserts (sink_postgres_tables.h), written in batches,
// one transaction each, at batch_size, at each flush and as soon as the input is idle. While the server
// cannot be reached, documents wait in memory (up to max_waiting) and the sink reconnects with exponential
// backoff; from the outage's start they are also kept in a file of the stage's, so that a stop or a crash
// loses none: the next start writes them first.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "stages/sink/sink_postgres_tables.h"
#include "stages/runtime/json_dump.h"
#include "stages/sink/sink_stages.h"

namespace vnawire::sink {
namespace {

using runtime::OptionSpec;
using runtime::OptionType;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kWriteBudget = std::chrono::seconds(1);  // of writing per call, then the main loop runs again
constexpr int kRollbackRetries = 3;                     // deadlocks in a row before the batch waits for a backoff

// PostgreSQL cannot store U+0000 in jsonb or text: such characters are left out of the record's strings.
void drop_nul(nlohmann::json& node) {
  if (node.is_string()) {
    auto& text = node.get_ref<std::string&>();
    text.erase(std::remove(text.begin(), text.end(), '\0'), text.end());
  } else if (node.is_structured()) {
    for (auto& child : node) drop_nul(child);
  }
}

PostgresRow row_of(const runtime::Document& document) {
  PostgresRow row{document_row(document), normalise(document.record)};
  if (row.document.record.find("\\u0000") != std::string::npos) {
    nlohmann::json clean = document.record;
    drop_nul(clean);
    row.document.record = runtime::dump_json(clean);
  }
  return row;
}

// Errors that belong to one document's values (SQLSTATE classes 22 data exception, 23 integrity, 54
// program limit): the document is dead-lettered. Anything else is the server's or the connection's.
bool document_error(const pqxx::sql_error& error) {
  const std::string state = error.sqlstate();
  return state.starts_with("22") || state.starts_with("23") || state.starts_with("54");
}

// Adds connect_timeout to the connection string unless it has one (URI or key=value form).
std::string with_connect_timeout(const std::string& dsn, std::int64_t seconds) {
  if (seconds <= 0 || dsn.find("connect_timeout") != std::string::npos) return dsn;
  const std::string setting = "connect_timeout=" + std::to_string(seconds);
  if (dsn.starts_with("postgres://") || dsn.starts_with("postgresql://")) {
    return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + setting;
  }
  return dsn.empty() ? setting : dsn + " " + setting;
}

// The documents waiting for an absent server, on disk as JSON lines ({"id", "record"}), so that neither a
// stop nor a crash during an outage loses them: the next start reads them back and writes them first.
// Once the file is open every document taken is appended, until none waits and the file is removed.
class WaitingFile {
 public:
  ~WaitingFile() { close(); }
  void set_path(std::filesystem::path path) { path_ = std::move(path); }
  const std::filesystem::path& path() const { return path_; }
  bool open() const { return fd_ >= 0; }

  // The documents a previous run left; a line cut short by a crash is skipped.
  std::vector<runtime::Document> load() const {
    std::vector<runtime::Document> documents;
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
      nlohmann::json item = nlohmann::json::parse(line, nullptr, false);
      if (item.is_discarded() || !item.contains("id") || !item["id"].is_string()) continue;
      documents.push_back({runtime::Header{item["id"].get<std::string>(), 0, ""}, std::move(item["record"])});
    }
    return documents;
  }
  // Appends (opening the file first if needed); made durable by sync().
  runtime::Status append(const DocumentRow& row) {
    if (fd_ < 0) fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) return runtime::Status::error("cannot open " + path_.string() + ": " + std::strerror(errno));
    const std::string line = R"({"id":)" + nlohmann::json(row.id).dump() + R"(,"record":)" + row.record + "}\n";
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return runtime::Status::error("cannot write to " + path_.string() + ": " + std::strerror(errno));
    }
    dirty_ = true;
    return {};
  }
  runtime::Status sync() {
    if (fd_ < 0 || !dirty_) return {};
    if (::fdatasync(fd_) != 0)
      return runtime::Status::error("cannot sync " + path_.string() + ": " + std::strerror(errno));
    dirty_ = false;
    return {};
  }
  void remove() {
    close();
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }

 private:
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::filesystem::path path_;
  int fd_ = -1;
  bool dirty_ = false;
};

class PostgresSink final : public runtime::Stage {
 public:
  explicit PostgresSink(const runtime::StageContext& context) : context_(context) {}

  runtime::Status start() override {
    const runtime::Options& options = *context_.options;
    batch_size_ = static_cast<std::size_t>(options.get_int("batch_size"));
    max_waiting_ = static_cast<std::size_t>(options.get_int("max_waiting"));
    schema_ = options.get_string("schema");
    first_backoff_ = milliseconds(options.get_int("reconnect_min_ms"));
    last_backoff_ = std::max(first_backoff_, milliseconds(options.get_int("reconnect_max_ms")));
    backoff_ = first_backoff_;
    std::string dsn = options.get_string("dsn");
    source_ = "option dsn";
    if (dsn.empty()) {
      const std::string variable = options.get_string("dsn_env");
      const char* value = variable.empty() ? nullptr : std::getenv(variable.c_str());
      dsn = value != nullptr ? value : "";
      source_ = value != nullptr && *value != '\0' ? "environment variable " + variable
                                                   : "libpq defaults and PG* environment variables";
    }
    dsn_ = with_connect_timeout(dsn, options.get_int("connect_timeout_s"));
    // A wrong address, user or database is a configuration error: the stage does not start.
    try {
      connect();
    } catch (const std::exception& e) {
      return runtime::Status::error("cannot connect to PostgreSQL (connection string from " + source_ +
                                    "): " + std::string(e.what()));
    }
    try {
      if (auto migrated = migrate_postgres(*connection_); !migrated.ok()) return migrated;
    } catch (const std::exception& e) {
      connection_.reset();
      return runtime::Status::error("cannot set up the tables in PostgreSQL: " + std::string(e.what()));
    }
    waiting_file_.set_path(context_.stage_dir / ("waiting." + std::to_string(context_.replica) + ".jsonl"));
    for (const runtime::Document& document : waiting_file_.load()) waiting_.push_back(row_of(document));
    if (!waiting_.empty()) {
      journaling_ = true;  // they stay in the file until written
      context_.log->info("{} document(s) left waiting for PostgreSQL in {} are written first", waiting_.size(),
                         waiting_file_.path().string());
    }
    return {};
  }

  runtime::Verdict on_message(runtime::Document& document) override {
    if (waiting_.size() >= max_waiting_ && !write(1).ok() && waiting_.size() >= max_waiting_) {
      // The runtime keeps this document and offers it again with its own backoff.
      return runtime::Verdict::retry("cannot write to PostgreSQL and max_waiting (" + std::to_string(max_waiting_) +
                                     ") documents already wait");
    }
    waiting_.push_back(row_of(document));
    if (journaling_) keep_on_disk(waiting_.back());
    context_.counters->add("stored");
    // One batch per batch_size documents taken, however many wait: the rest of a backlog is written by
    // flushes, so a replica catching up still answers heartbeats. A failure keeps the documents waiting.
    if (++taken_since_write_ >= batch_size_) {
      taken_since_write_ = 0;
      (void)write(1);
    }
    return runtime::Verdict::forward();
  }

  // During an outage (logged once when it began) the documents wait: not a failure to report each time.
  runtime::Status flush() override {
    const runtime::Status written = write();
    if (auto synced = waiting_file_.sync(); !synced.ok()) return synced;
    return down_ ? runtime::Status() : written;
  }
  runtime::Status on_idle() override { return flush(); }

  // The last flush has run: what the server still has not got goes to the dead-letter file for replay.
  void stop() override {
    if (waiting_.empty()) return;
    if (down_) next_attempt_ = {};  // one last try, whatever the backoff
    for (std::size_t left = waiting_.size(); left > 0 && write().ok() && waiting_.size() < left;) {
      left = waiting_.size();
    }
    if (waiting_.empty()) return;
    if (journaling_ && file_error_.empty() && waiting_file_.sync().ok()) {
      context_.log->warn("{} document(s) not yet written to PostgreSQL wait in {} for the next start", waiting_.size(),
                         waiting_file_.path().string());
      return;
    }
    const std::string reason = "stopping before PostgreSQL took the record: " + last_error_;
    context_.log->error("{} document(s) were not written to PostgreSQL; dead-lettered for replay", waiting_.size());
    for (const PostgresRow& row : waiting_) context_.dead_letter(reason, row.document.id, row.document.record);
    context_.counters->add("dead_lettered_at_stop", waiting_.size());
    waiting_.clear();
  }

 private:
  void connect() {
    auto connection = std::make_unique<pqxx::connection>(dsn_);
    // set_variable: libpqxx sets these again itself if it ever reopens the connection.
    connection->set_variable("client_min_messages", "warning");
    if (!schema_.empty()) {
      pqxx::nontransaction(*connection).exec("CREATE SCHEMA IF NOT EXISTS " + connection->quote_name(schema_));
      connection->set_variable("search_path", connection->quote_name(schema_));
    }
    connection_ = std::move(connection);
  }

  // Writes the waiting documents, batch_size per transaction, for about kWriteBudget at most (the replica
  // sends no heartbeat meanwhile: a backlog after an outage is written over several calls). Ok unless a
  // transaction failed; documents may still wait after an ok.
  runtime::Status write(std::size_t max_batches = SIZE_MAX) {
    if (waiting_.empty()) return {};
    if (down_ && Clock::now() < next_attempt_) {
      return runtime::Status::error("cannot write to PostgreSQL: " + last_error_ + " (" +
                                    std::to_string(waiting_.size()) + " document(s) wait)");
    }
    const auto deadline = Clock::now() + kWriteBudget;
    try {
      if (!connection_) connect();
      int rollbacks = 0;
      for (std::size_t batches = 0; !waiting_.empty() && batches < max_batches && Clock::now() < deadline; ++batches) {
        const std::size_t n = std::min(batch_size_, waiting_.size());
        try {
          commit(n);
        } catch (const pqxx::transaction_rollback&) {
          // A deadlock with another writer or a serialization failure: the same batch again, at once.
          if (++rollbacks > kRollbackRetries) throw;
        } catch (const pqxx::sql_error& e) {
          if (!document_error(e)) throw;
          commit_one_by_one(n);
        }
      }
    } catch (const std::exception& e) {
      return outage(e.what());
    }
    if (waiting_.empty() && journaling_) {
      waiting_file_.remove();
      journaling_ = false;
    }
    if (down_) {
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - down_since_).count();
      context_.log->info("PostgreSQL takes documents again after {} s; {} still wait", seconds, waiting_.size());
      down_ = false;
    }
    backoff_ = first_backoff_;
    return {};
  }

  // The first `n` waiting documents in one transaction; they leave the queue once it committed. A
  // commit whose outcome is unknown (in_doubt_error) keeps them: written again, they change nothing.
  void commit(std::size_t n) {
    std::vector<const PostgresRow*> rows;
    for (std::size_t i = 0; i < n; ++i) rows.push_back(&waiting_[i]);
    pqxx::work tx(*connection_);
    for (const std::string& sql : batch_sql(*connection_, rows)) tx.exec(sql);
    tx.commit();
    waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(n));
    context_.counters->add("committed", n);
    context_.counters->add("transactions");
  }

  // A batch refused for one document's values: each is written alone and the refused ones dead-lettered.
  void commit_one_by_one(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      try {
        commit(1);
      } catch (const pqxx::sql_error& e) {
        if (!document_error(e)) throw;
        const PostgresRow& row = waiting_.front();
        context_.dead_letter(std::string("PostgreSQL refused the record: ") + e.what(), row.document.id,
                             row.document.record);
        context_.counters->add("refused");
        waiting_.pop_front();
      }
    }
  }

  runtime::Status outage(const std::string& what) {
    connection_.reset();
    last_error_ = what;
    last_error_.erase(last_error_.find_last_not_of(" \n") + 1);
    if (!journaling_) {
      journaling_ = true;
      for (const PostgresRow& row : waiting_) keep_on_disk(row);
    }
    if (!down_) {
      down_ = true;
      down_since_ = Clock::now();
      context_.counters->add("outages");
      context_.log->warn("cannot write to PostgreSQL: {}; {} document(s) wait, trying again with backoff up to {} ms",
                         last_error_, waiting_.size(), last_backoff_.count());
    }
    context_.counters->add("reconnect_attempts");
    next_attempt_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, last_backoff_);
    return runtime::Status::error("cannot write to PostgreSQL: " + last_error_);
  }

  void keep_on_disk(const PostgresRow& row) {
    if (!file_error_.empty()) return;
    if (auto kept = waiting_file_.append(row.document); !kept.ok()) {
      file_error_ = kept.message();
      context_.log->error("{}: the documents waiting for PostgreSQL are kept in memory only", file_error_);
    }
  }

  const runtime::StageContext& context_;
  WaitingFile waiting_file_;
  bool journaling_ = false;  // every document taken is also in waiting_file_, until none waits
  std::string file_error_;   // why waiting_file_ could not be written (then a stop dead-letters what waits)
  std::string dsn_, source_, schema_;
  std::unique_ptr<pqxx::connection> connection_;
  std::deque<PostgresRow> waiting_;  // accepted, not yet committed, oldest first
  std::size_t batch_size_ = 500, max_waiting_ = 100000;
  std::size_t taken_since_write_ = 0;
  bool down_ = false;
  std::string last_error_;
  Clock::time_point down_since_{}, next_attempt_{};
  milliseconds first_backoff_{500}, last_backoff_{30000}, backoff_{500};
};

}  // namespace

const runtime::StageDescriptor& postgres_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "sink_postgres",
      "Sink: upserts one row per document id into PostgreSQL, with the SQLite sink's tables (persons, "
      "organisations, places, events, quotes, countries, a tsvector full-text index); waits and reconnects while "
      "the server is down (docs/sinks.md).",
      runtime::StageRole::Sink,
      16,
      {
          OptionSpec{"dsn", OptionType::String, std::string(""),
                     "The libpq connection string (\"host=/run/postgresql dbname=news\" or "
                     "\"postgresql://user@host/db\"); empty: read from the variable dsn_env names."},
          OptionSpec{"dsn_env", OptionType::String, std::string("VNAWIRE_POSTGRES_DSN"),
                     "The environment variable holding the connection string when dsn is empty (keeps a password "
                     "out of the config); when both are empty, libpq's defaults and PG* variables apply."},
          OptionSpec{"schema", OptionType::String, std::string(""),
                     "The PostgreSQL schema holding the tables, created if missing; empty: the server's "
                     "search_path (usually public)."},
          OptionSpec{"batch_size", OptionType::Int, std::int64_t{500},
                     "Documents per transaction at most; a transaction is also committed at each flush and as soon "
                     "as the input is idle.",
                     false, 1.0, 100000.0},
          OptionSpec{"max_waiting", OptionType::Int, std::int64_t{100000},
                     "Documents kept in memory while the server cannot be reached; beyond, the stage takes no "
                     "new document (the runtime retries it, then dead-letters it).",
                     false, 1.0, 10000000.0},
          OptionSpec{"reconnect_min_ms", OptionType::Int, std::int64_t{500},
                     "First wait before reconnecting after the server was lost; doubles up to reconnect_max_ms.", false,
                     1.0, 600000.0},
          OptionSpec{"reconnect_max_ms", OptionType::Int, std::int64_t{30000}, "Longest wait between reconnections.",
                     false, 1.0, 3600000.0},
          OptionSpec{"connect_timeout_s", OptionType::Int, std::int64_t{5},
                     "Longest a connection attempt may take (libpq connect_timeout, unless the connection string "
                     "sets it); must be below pipeline.stage_timeout_ms, since a replica connecting sends no "
                     "heartbeat.",
                     false, 1.0, 600.0},
      },
      [](const runtime::StageContext& context) { return std::make_unique<PostgresSink>(context); },
      [](const runtime::Options& options, const runtime::Options& pipeline) {
        const auto seconds = options.get_int("connect_timeout_s");
        return below_stage_timeout("connect_timeout_s", std::to_string(seconds) + " s", seconds * 1000, pipeline,
                                   "connecting that long");
      },
  };
  return descriptor;
}

}  // namespace vnawire::sink
