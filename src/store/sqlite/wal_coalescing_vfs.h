// WalCoalescingVfs: a SQLite VFS, layered on the default one, that hands a
// transaction's WAL frames to the OS in one write(2) instead of two per page.
//
// Why: SQLite writes a WAL frame as two calls, its 24-byte header and then
// its page. A commit of the 10 000-key Zipf mix dirties ~24 pages: 48 calls,
// each paying the syscall and ext4's per-write work (block lookup, times,
// page-cache locking). Measured on this machine, writing 24 frames of a 1 KiB
// page into a WAL-like file: 36-38 us of CPU as 48 calls, 3-4 us as one.
//
// How: a file opened as a WAL (SQLITE_OPEN_WAL) collects writes that continue
// where the previous one ended, and writes them out in one call as soon as
// the commit frame is complete. The commit frame is the one whose header
// carries a non-zero "database size after commit" (the WAL file format:
// https://www.sqlite.org/fileformat2.html#walformat); SQLite writes it last,
// and only then publishes the new frames in the wal-index, so no reader, in
// this process or another, is ever told of a frame that is not in the file
// yet. Anything else writes the collected bytes out first: a write anywhere
// but at their end, a read, a sync, a truncate, a size query, a file control,
// close, or more than kMaxCollectedBytes. A failed write-out fails the call
// that caused it, as the direct write would have (the transaction rolls back),
// and drops what was collected.
//
// Every other file (the database, journals) is passed through unchanged.
#pragma once

#include <cstdint>

struct sqlite3;

namespace tally {

// Registers the VFS with SQLite (once; thread-safe) and returns its name,
// for sqlite3_open_v2's zVfs. Must run after SQLite's allocator is set up.
const char* WalCoalescingVfsName();

// If `db`'s WAL holds collected bytes, writes them out now; returns SQLite's
// result code. After a COMMIT has returned it never finds any (the commit
// frame wrote them out); SqliteTransaction calls it as a safety net, so that
// a commit is in the file before it is acknowledged even if a future SQLite
// wrote its frames in another pattern.
int FlushCollectedWal(sqlite3* db);

// How many times FlushCollectedWal found bytes since the process started:
// zero unless a commit frame was missed (tests assert it stays zero).
uint64_t CollectedWalFoundAfterCommit();

}  // namespace tally
