// WalPreallocator: keeps SQLite's WAL file longer than what SQLite has
// written into it, so that a commit overwrites blocks the file already has
// instead of appending to it.
//
// Why: an fdatasync of a file whose size changed must also write the inode,
// one more synchronous disk write (on the ext4 without a journal this was
// measured on, ext4_write_inode: 5% of the server's samples at one hot key,
// under fdatasync). A WAL is
// appended to until it reaches its checkpoint size (16 MiB in strict mode),
// which a small site never does before a restart deletes it, so without this
// nearly every strict hit paid for it. Measured: pwrite of a 1 KiB frame +
// fdatasync, median 131-149 us appending vs 81-95 us overwriting; strict
// hits on one connection, p50 311-390 us -> 255-296 us.
//
// How: while SQLite's write lock is held, if the WAL has grown since last
// time, append a chunk of zeros past its end. SQLite writes its frames at
// increasing offsets and overwrites the zeros; a zero frame is never valid
// (its page number is 0, and its salts do not match the header's), so
// recovery after a crash stops at the first one, as it stops at the
// leftovers of an earlier generation of frames. The file is extended only
// up to `limit_bytes`, below journal_size_limit, so SQLite never truncates
// the reservation away.
//
// Thread safety: none. SqliteStore uses it under its writer mutex.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace tally {

class WalPreallocator {
 public:
  // Extends the file by `chunk_bytes` at a time, never past `limit_bytes`.
  WalPreallocator(int64_t chunk_bytes, int64_t limit_bytes);

  // Call with SQLite's write lock on the database held (inside BEGIN
  // IMMEDIATE), so that no other connection is appending frames; `wal_fd`
  // is a descriptor of the WAL open for writing. If the file has grown since
  // the last call (SQLite wrote past the reserved end) or is new to us, and
  // is shorter than the limit, appends zeros up to the next chunk. Costs one
  // lseek otherwise. On an error (a full disk) it stops reserving for good
  // and returns the error; nothing is lost, SQLite just appends as before.
  Status BeforeCommit(int wal_fd);

 private:
  const int64_t chunk_bytes_;
  const int64_t limit_bytes_;
  int64_t last_size_ = -1;  // the file's size after the last call
  bool enabled_ = true;
};

}  // namespace tally
