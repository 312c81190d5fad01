#include "cli/data_commands.h"

#include <fstream>
#include <iostream>

#include "api/site_export.h"
#include "common/clock.h"
#include "store/store_factory.h"

namespace tally {
namespace {

constexpr size_t kImportBatch = 1000;

int Fail(const std::string& message) {
  std::cerr << "tally: " << message << "\n";
  return 1;
}

}  // namespace

int RunExport(const DataCommandArgs& args) {
  auto store = OpenStore(args.store, Durability::kStrict);
  if (!store.ok()) return Fail(store.status().ToString());
  auto site = (*store)->GetSite(args.site);
  if (!site.ok()) return Fail(site.status().ToString());
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!args.file.empty() && args.file != "-") {
    file.open(args.file, std::ios::binary | std::ios::trunc);
    if (!file) return Fail("cannot write " + args.file);
    out = &file;
  }
  Status status = ExportSiteNdjson(**store, *site, [&](std::string_view chunk) {
    out->write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  });
  out->flush();
  if (!status.ok()) return Fail(status.ToString());
  if (!*out) return Fail("writing the export failed");
  return 0;
}

int RunImport(const DataCommandArgs& args) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (!args.file.empty() && args.file != "-") {
    file.open(args.file, std::ios::binary);
    if (!file) return Fail("cannot read " + args.file);
    in = &file;
  }
  auto store = OpenStore(args.store, Durability::kStrict);
  if (!store.ok()) return Fail(store.status().ToString());

  std::string site = args.site;
  bool site_ready = false;
  std::vector<ExportRow> batch;
  size_t imported = 0;
  auto ensure_site = [&](const std::optional<SiteSettings>& settings) -> bool {
    if (site_ready) return true;
    if (site.empty()) {
      std::cerr << "tally: the file names no site before its first counter; pass --site\n";
      return false;
    }
    if ((*store)->GetSite(site).ok()) {
      site_ready = true;
      return true;
    }
    SiteSettings create = settings.value_or(SiteSettings{});
    create.name = site;
    SystemClock clock;
    auto created = CreateSite(**store, clock, create);
    if (!created.ok()) {
      std::cerr << "tally: cannot create site " << site << ": " << created.status().ToString()
                << "\n";
      return false;
    }
    std::cerr << "created site " << site
              << "; its new admin token (shown once): " << created->admin_token << "\n";
    site_ready = true;
    return true;
  };
  auto flush = [&]() -> bool {
    if (batch.empty()) return true;
    Status s = (*store)->ImportRows(site, batch);
    if (!s.ok()) {
      std::cerr << "tally: import failed: " << s.ToString() << "\n";
      return false;
    }
    imported += batch.size();
    batch.clear();
    return true;
  };

  std::string line;
  size_t number = 0;
  while (std::getline(*in, line)) {
    ++number;
    auto parsed = ParseImportLine(line);
    if (!parsed.ok()) {
      return Fail("line " + std::to_string(number) + ": " + parsed.status().message());
    }
    if (parsed->site) {
      if (site.empty()) site = *parsed->site->name;
      if (!ensure_site(parsed->site)) return 1;
    }
    if (parsed->row) {
      if (!ensure_site(std::nullopt)) return 1;
      batch.push_back(std::move(*parsed->row));
      if (batch.size() >= kImportBatch && !flush()) return 1;
    }
  }
  if (!flush()) return 1;
  std::cerr << "imported " << imported << " rows into " << (site.empty() ? "nothing" : site)
            << "\n";
  return 0;
}

}  // namespace tally
