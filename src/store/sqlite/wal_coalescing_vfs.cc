#include "store/sqlite/wal_coalescing_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <new>
#include <string>

namespace tally {
namespace {

constexpr char kVfsName[] = "tally-wal-coalescing";
constexpr int kFrameHeaderBytes = 24;
// More than a commit of hits writes (~25 KiB for the Zipf mix); a larger
// transaction (an import) goes out in pieces of this size. The unix VFS takes
// writes of less than 128 KiB only (it masks the length with 0x1ffff).
constexpr size_t kMaxCollectedBytes = size_t{64} * 1024;

sqlite3_vfs* g_base = nullptr;  // the default VFS, which does the real work
sqlite3_vfs g_vfs;
std::atomic<uint64_t> g_found_after_commit{0};

// Our part of an open file. The base VFS's file lives in the same block,
// right after it (szOsFile covers both).
struct File {
  sqlite3_file base;           // first: the handle SQLite passes around
  sqlite3_io_methods methods;  // ours, with the base file's iVersion
  sqlite3_file* real = nullptr;
  bool wal = false;
  bool after_commit_header = false;  // the last write was a commit frame's header
  sqlite3_int64 written_end = 0;     // where the last write ended
  sqlite3_int64 collected_offset = 0;
  std::string collected;  // bytes for the file at collected_offset
};

constexpr size_t kFileBytes = (sizeof(File) + 7) / 8 * 8;

File* Of(sqlite3_file* file) { return reinterpret_cast<File*>(file); }
const sqlite3_io_methods* Real(File* f) { return f->real->pMethods; }

// Writes the collected bytes out, if any. They are dropped either way: after
// a failure SQLite rolls the transaction back and writes its frames again.
int WriteOut(File* f) {
  if (f->collected.empty()) return SQLITE_OK;
  int rc = Real(f)->xWrite(f->real, f->collected.data(), static_cast<int>(f->collected.size()),
                           f->collected_offset);
  f->collected.clear();
  return rc;
}

// A frame header's bytes 4-7: the database size in pages after the commit
// for a transaction's last frame, zero for every other frame.
bool IsCommitFrameHeader(const void* data, int bytes) {
  if (bytes != kFrameHeaderBytes) return false;
  const auto* p = static_cast<const unsigned char*>(data);
  return (p[4] | p[5] | p[6] | p[7]) != 0;
}

int Close(sqlite3_file* file) {
  File* f = Of(file);
  int rc = WriteOut(f);
  int close_rc = Real(f)->xClose(f->real);
  f->~File();
  return rc != SQLITE_OK ? rc : close_rc;
}

int Read(sqlite3_file* file, void* data, int bytes, sqlite3_int64 offset) {
  File* f = Of(file);
  if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
  return Real(f)->xRead(f->real, data, bytes, offset);
}

int Write(sqlite3_file* file, const void* data, int bytes, sqlite3_int64 offset) {
  File* f = Of(file);
  if (!f->wal) return Real(f)->xWrite(f->real, data, bytes, offset);
  const bool completes_commit = f->after_commit_header;
  f->after_commit_header = !completes_commit && IsCommitFrameHeader(data, bytes);
  const bool appends = offset == f->written_end;
  f->written_end = offset + bytes;
  // Whatever was collected goes out before anything that does not continue
  // it, so that overlapping writes reach the file in SQLite's order.
  if (!appends || f->collected.size() + static_cast<size_t>(bytes) > kMaxCollectedBytes) {
    if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
  }
  // Overwrites go straight to the file: a frame written again within its
  // transaction, or the headers SQLite rewrites with new checksums, the
  // commit frame's last, with no page after it to trigger the write-out.
  // Offset 0 is a new WAL's header, which the first frame continues.
  if ((!appends && offset != 0) || static_cast<size_t>(bytes) > kMaxCollectedBytes) {
    if (int rc = Real(f)->xWrite(f->real, data, bytes, offset); rc != SQLITE_OK) return rc;
    return completes_commit ? WriteOut(f) : SQLITE_OK;
  }
  if (f->collected.empty()) f->collected_offset = offset;
  f->collected.append(static_cast<const char*>(data), static_cast<size_t>(bytes));
  return completes_commit ? WriteOut(f) : SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = Of(file);
  if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
  return Real(f)->xTruncate(f->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  File* f = Of(file);
  if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
  return Real(f)->xSync(f->real, flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  File* f = Of(file);
  if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
  return Real(f)->xFileSize(f->real, size);
}

int Lock(sqlite3_file* file, int level) { return Real(Of(file))->xLock(Of(file)->real, level); }
int Unlock(sqlite3_file* file, int level) { return Real(Of(file))->xUnlock(Of(file)->real, level); }
int CheckReservedLock(sqlite3_file* file, int* out) {
  return Real(Of(file))->xCheckReservedLock(Of(file)->real, out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  File* f = Of(file);
  if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
  return Real(f)->xFileControl(f->real, op, arg);
}

int SectorSize(sqlite3_file* file) { return Real(Of(file))->xSectorSize(Of(file)->real); }
int DeviceCharacteristics(sqlite3_file* file) {
  return Real(Of(file))->xDeviceCharacteristics(Of(file)->real);
}

int ShmMap(sqlite3_file* file, int region, int bytes, int extend, void volatile** out) {
  return Real(Of(file))->xShmMap(Of(file)->real, region, bytes, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  return Real(Of(file))->xShmLock(Of(file)->real, offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) { Real(Of(file))->xShmBarrier(Of(file)->real); }
int ShmUnmap(sqlite3_file* file, int delete_flag) {
  return Real(Of(file))->xShmUnmap(Of(file)->real, delete_flag);
}

int Fetch(sqlite3_file* file, sqlite3_int64 offset, int bytes, void** out) {
  File* f = Of(file);
  if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
  return Real(f)->xFetch(f->real, offset, bytes, out);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return Real(Of(file))->xUnfetch(Of(file)->real, offset, page);
}

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = new (file) File();
  f->base.pMethods = nullptr;  // SQLite calls xClose only if this is set
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kFileBytes);
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  int rc = g_base->xOpen(g_base, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || f->real->pMethods == nullptr) {
    if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
    f->~File();
    file->pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  const sqlite3_io_methods* real = f->real->pMethods;
  sqlite3_io_methods& m = f->methods;
  m = sqlite3_io_methods{};
  m.iVersion = std::min(real->iVersion, 3);
  m.xClose = Close;
  m.xRead = Read;
  m.xWrite = Write;
  m.xTruncate = Truncate;
  m.xSync = Sync;
  m.xFileSize = FileSize;
  m.xLock = Lock;
  m.xUnlock = Unlock;
  m.xCheckReservedLock = CheckReservedLock;
  m.xFileControl = FileControl;
  m.xSectorSize = SectorSize;
  m.xDeviceCharacteristics = DeviceCharacteristics;
  if (m.iVersion >= 2) {
    m.xShmMap = ShmMap;
    m.xShmLock = ShmLock;
    m.xShmBarrier = ShmBarrier;
    m.xShmUnmap = ShmUnmap;
  }
  if (m.iVersion >= 3) {
    m.xFetch = Fetch;
    m.xUnfetch = Unfetch;
  }
  f->base.pMethods = &m;
  return SQLITE_OK;
}

// The rest of the VFS is the base VFS's, called with the base VFS.
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_base->xDelete(g_base, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base->xAccess(g_base, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int bytes, char* out) {
  return g_base->xFullPathname(g_base, name, bytes, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return g_base->xDlOpen(g_base, name); }
void DlError(sqlite3_vfs*, int bytes, char* out) { g_base->xDlError(g_base, bytes, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_base->xDlSym(g_base, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { g_base->xDlClose(g_base, handle); }
int Randomness(sqlite3_vfs*, int bytes, char* out) {
  return g_base->xRandomness(g_base, bytes, out);
}
int Sleep(sqlite3_vfs*, int micros) { return g_base->xSleep(g_base, micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int GetLastError(sqlite3_vfs*, int bytes, char* out) {
  return g_base->xGetLastError(g_base, bytes, out);
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}
int SetSystemCall(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr call) {
  return g_base->xSetSystemCall(g_base, name, call);
}
sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs*, const char* name) {
  return g_base->xGetSystemCall(g_base, name);
}
const char* NextSystemCall(sqlite3_vfs*, const char* name) {
  return g_base->xNextSystemCall(g_base, name);
}

void Register() {
  g_base = sqlite3_vfs_find(nullptr);
  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = std::min(g_base->iVersion, 3);
  g_vfs.szOsFile = static_cast<int>(kFileBytes) + g_base->szOsFile;
  g_vfs.mxPathname = g_base->mxPathname;
  g_vfs.zName = kVfsName;
  g_vfs.xOpen = Open;
  g_vfs.xDelete = Delete;
  g_vfs.xAccess = Access;
  g_vfs.xFullPathname = FullPathname;
  g_vfs.xDlOpen = DlOpen;
  g_vfs.xDlError = DlError;
  g_vfs.xDlSym = DlSym;
  g_vfs.xDlClose = DlClose;
  g_vfs.xRandomness = Randomness;
  g_vfs.xSleep = Sleep;
  g_vfs.xCurrentTime = CurrentTime;
  g_vfs.xGetLastError = GetLastError;
  if (g_vfs.iVersion >= 2) g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (g_vfs.iVersion >= 3) {
    g_vfs.xSetSystemCall = SetSystemCall;
    g_vfs.xGetSystemCall = GetSystemCall;
    g_vfs.xNextSystemCall = NextSystemCall;
  }
  sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0);
}

}  // namespace

const char* WalCoalescingVfsName() {
  static std::once_flag once;
  std::call_once(once, Register);
  return kVfsName;
}

int FlushCollectedWal(sqlite3* db) {
  sqlite3_file* wal = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
      wal == nullptr || wal->pMethods == nullptr || wal->pMethods->xWrite != Write) {
    return SQLITE_OK;
  }
  File* f = Of(wal);
  if (f->collected.empty()) return SQLITE_OK;
  g_found_after_commit.fetch_add(1, std::memory_order_relaxed);
  return WriteOut(f);
}

uint64_t CollectedWalFoundAfterCommit() {
  return g_found_after_commit.load(std::memory_order_relaxed);
}

}  // namespace tally
