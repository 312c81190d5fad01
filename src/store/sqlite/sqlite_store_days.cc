// SqliteStore's day-based half: series, visitor salts and markers, export and
// import. The counter and site half is in sqlite_store.cc.
#include <sqlite3.h>

#include "store/no_throw.h"
#include "store/sqlite/sqlite_schema.h"
#include "store/sqlite/sqlite_store.h"

namespace tally {
namespace {

constexpr std::string_view kSeriesOfKey =
    "SELECT day, hits, visitors FROM counts WHERE site = ?1 AND key = ?2 AND day >= ?3 "
    "AND day <= ?4 ORDER BY day";
constexpr std::string_view kSeriesOfSite =
    "SELECT day, SUM(hits), SUM(visitors) FROM counts WHERE site = ?1 AND day >= ?2 AND day <= ?3 "
    "GROUP BY day ORDER BY day";
constexpr std::string_view kInsertSalt =
    "INSERT INTO salts (day, salt) VALUES (?1, ?2) ON CONFLICT (day) DO NOTHING";
constexpr std::string_view kSelectSalt = "SELECT salt FROM salts WHERE day = ?1";
constexpr std::string_view kForgetSalts = "DELETE FROM salts WHERE day < ?1";
constexpr std::string_view kForgetMarks = "DELETE FROM visitor_marks WHERE day < ?1";
// Series ranges are of YYYY-MM-DD days: a total's day ('total') is outside
// every one of them.
// Exported totals carry an empty day, so a counter's total comes before its
// days (the export format's order).
constexpr std::string_view kExport =
    "SELECT key, CASE day WHEN 'total' THEN '' ELSE day END AS d, hits, visitors FROM counts "
    "WHERE site = ?1 ORDER BY key, d";
constexpr std::string_view kImportRow =
    "INSERT INTO counts (site, key, day, hits, visitors) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (site, key, day) DO UPDATE SET hits = excluded.hits, "
    "visitors = excluded.visitors";

}  // namespace

Result<std::vector<DayRow>> SqliteStore::ReadSeries(std::string_view site,
                                                    std::optional<std::string_view> key,
                                                    std::string_view from_day,
                                                    std::string_view to_day) {
  return NoThrow("ReadSeries", [&]() -> Result<std::vector<DayRow>> {
    Result<ReaderLease> reader = AcquireReader();
    if (!reader.ok()) return reader.status();
    Result<SqliteStatement*> stmt = (*reader)->Cached(key ? kSeriesOfKey : kSeriesOfSite);
    if (!stmt.ok()) return stmt.status();
    ScopedStatement st(**stmt);
    int index = 1;
    st->BindText(index++, site);
    if (key) st->BindText(index++, *key);
    st->BindText(index++, from_day);
    st->BindText(index++, to_day);
    std::vector<DayRow> rows;
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
      rows.push_back(
          DayRow{std::string(st->ColumnText(0)), st->ColumnInt64(1), st->ColumnInt64(2)});
    }
    if (rc != SQLITE_DONE) return (*reader)->Error("ReadSeries");
    return rows;
  });
}

Result<std::string> SqliteStore::DailySalt(std::string_view day, std::string_view candidate) {
  return SyncIfStrict(NoThrow("DailySalt", [&]() -> Result<std::string> {
    std::lock_guard<std::mutex> lock(writer_mu_);
    for (std::string_view sql : {kInsertSalt, kSelectSalt}) {
      Result<SqliteStatement*> stmt = writer_->Cached(sql);
      if (!stmt.ok()) return stmt.status();
      ScopedStatement st(**stmt);
      st->BindText(1, day);
      if (sql == kInsertSalt) {
        st->BindText(2, candidate);
        if (st->Step() != SQLITE_DONE) return writer_->Error("DailySalt");
      } else {
        if (st->Step() != SQLITE_ROW) return writer_->Error("DailySalt");
        return std::string(st->ColumnText(0));
      }
    }
    return Status::Internal("DailySalt: unreachable");
  }));
}

Status SqliteStore::ForgetVisitorsBefore(std::string_view day) {
  return SyncIfStrict(NoThrow("ForgetVisitorsBefore", [&]() -> Status {
    std::lock_guard<std::mutex> lock(writer_mu_);
    marks_.Clear();  // whatever the outcome: it must not keep deleted markers
    SqliteTransaction txn(*writer_);
    if (Status s = txn.Begin(); !s.ok()) return s;
    for (std::string_view sql : {kForgetSalts, kForgetMarks}) {
      Result<SqliteStatement*> stmt = writer_->Cached(sql);
      if (!stmt.ok()) return stmt.status();
      ScopedStatement st(**stmt);
      st->BindText(1, day);
      if (st->Step() != SQLITE_DONE) return writer_->Error("ForgetVisitorsBefore");
    }
    return txn.Commit();
  }));
}

Status SqliteStore::ExportSite(std::string_view site,
                               const std::function<bool(const ExportRow&)>& emit) {
  return NoThrow("ExportSite", [&]() -> Status {
    Result<ReaderLease> reader = AcquireReader();
    if (!reader.ok()) return reader.status();
    Result<SqliteStatement*> stmt = (*reader)->Cached(kExport);
    if (!stmt.ok()) return stmt.status();
    ScopedStatement st(**stmt);
    st->BindText(1, site);
    ExportRow row;
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
      row.key.assign(st->ColumnText(0));
      row.day.assign(st->ColumnText(1));
      row.hits = st->ColumnInt64(2);
      row.visitors = st->ColumnInt64(3);
      if (!emit(row)) return Status::Ok();
    }
    if (rc != SQLITE_DONE) return (*reader)->Error("ExportSite");
    return Status::Ok();
  });
}

Status SqliteStore::ImportRows(std::string_view site, std::span<const ExportRow> rows) {
  for (const ExportRow& row : rows) {
    if (row.hits < 0 || row.visitors < 0) return Status::InvalidArgument("negative count");
    // A day named like the totals' row would overwrite the total.
    if (row.day == kTotalsDay) return Status::InvalidArgument("day 'total'");
  }
  return SyncIfStrict(NoThrow("ImportRows", [&]() -> Status {
    std::lock_guard<std::mutex> lock(writer_mu_);
    CountersRewrite rewrite(*this);
    Result<SqliteStatement*> stmt = writer_->Cached(kImportRow);
    if (!stmt.ok()) return stmt.status();
    SqliteTransaction txn(*writer_);
    if (Status s = txn.Begin(); !s.ok()) return s;
    for (const ExportRow& row : rows) {
      ScopedStatement st(**stmt);
      st->BindText(1, site);
      st->BindText(2, row.key);
      st->BindText(3, row.day.empty() ? kTotalsDay : std::string_view(row.day));
      st->BindInt64(4, row.hits);
      st->BindInt64(5, row.visitors);
      if (st->Step() != SQLITE_DONE) return writer_->Error("ImportRows");
    }
    return txn.Commit();
  }));
}

}  // namespace tally
