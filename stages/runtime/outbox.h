// A source's unacknowledged documents, kept on disk until the daemon says every copy is finished
// (docs/protocol.md): a journal of checksummed records, appended and synced before a document leaves,
// read back at start so that what a crash interrupted is sent again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stages/runtime/status.h"

namespace vnawire::runtime {

class Outbox {
 public:
  struct Entry {
    std::string id;
    std::string trace;
    std::uint32_t attempt = 0;  // of the last send
    std::uint64_t root = 0;     // of the last send: what the daemon's DONE names
    std::int64_t first_ms = 0;  // when it was first sent (ms since the epoch)
    std::int64_t sent_ms = 0;   // when it was last sent
    std::uint64_t offset = 0;   // where its payload is in the journal
    std::uint32_t length = 0;   // the payload's size
  };

  Outbox() = default;
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Opens (or creates) the journal. Damaged records (a torn write at the end, a flipped bit, garbage) are
  // skipped; the file is then copied to <file>.damaged and rewritten with the records that were whole,
  // and set_aside() says what was lost.
  Status open(const std::filesystem::path& file);
  const std::string& set_aside() const { return set_aside_; }

  // Records a first send (buffered until commit()); returns its sequence number.
  std::uint64_t add(std::string_view id, std::string_view trace, std::uint32_t attempt, std::string_view payload,
                    std::uint64_t root, std::int64_t now_ms);
  bool has_unwritten() const { return !buffer_.empty(); }
  // Records a new send of `seq` (a replay) under a new root.
  void resent(std::uint64_t seq, std::uint64_t root, std::uint32_t attempt, std::int64_t now_ms);
  // Forgets `seq`: acknowledged, or dead-lettered. False when it is not (or no longer) here.
  bool done(std::uint64_t seq);
  // Writes what was recorded since the last commit and makes it durable (fdatasync). Compacts the journal
  // when most of it is finished records.
  Status commit();

  // The entry sent under `root`, if it is still here.
  const Entry* find_root(std::uint64_t root, std::uint64_t* seq) const;
  const Entry* find(std::uint64_t seq) const;
  // Entries whose last send is older than timeout_ms << min(attempt, 4), oldest first, at most `limit`; with
  // `backoff` false, older than timeout_ms whatever the attempt (a source draining has no time to back off).
  std::vector<std::uint64_t> due(std::int64_t now_ms, std::int64_t timeout_ms, std::size_t limit,
                                 bool backoff = true) const;
  // Makes every entry due now (in memory only): what a previous process sent may have been acknowledged to
  // it while it was dying, or never, and no acknowledgement can come for a root the daemon forgot.
  void make_all_due() {
    for (auto& [seq, entry] : entries_) entry.sent_ms = 0;
  }
  // Reads the payload of `seq` back from the journal.
  Result<std::string> payload(std::uint64_t seq);

  std::size_t size() const { return entries_.size(); }

 private:
  Status rewrite(const std::filesystem::path& target);
  void append_add(std::uint64_t seq, const Entry& entry, std::string_view payload);
  void append_record(char type, const std::string& body);
  bool load(std::string& problems);
  std::uint64_t next_magic(std::uint64_t from, std::uint64_t size) const;

  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t file_bytes_ = 0;  // durable and written bytes of the journal
  std::uint64_t live_bytes_ = 0;  // payload bytes of the entries still here
  std::string buffer_;            // records not yet written
  std::map<std::uint64_t, Entry> entries_;
  std::unordered_map<std::uint64_t, std::uint64_t> by_root_;
  std::uint64_t next_seq_ = 1;
  std::string set_aside_;
};

}  // namespace vnawire::runtime
