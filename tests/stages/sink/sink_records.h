// Records the sink tests store, shared by the SQLite and PostgreSQL tests so both check the same rows.
#pragma once

#include <string>

#include "tests/stages/stage_fixture.h"

namespace vnawire::testing {

// A record as the extract stage makes it: two officials meet, one of them is quoted.
inline runtime::Document meeting_record(const std::string& id) {
  auto doc = make_document(id, "texte brut");
  doc.record["article"] = {{"title", "Entretien à Hanoï"},
                           {"lead", "Deux ministres se sont rencontrés."},
                           {"body", {"Le ministre a reçu son homologue.", "Ils ont parlé d'énergie."}}};
  doc.record["entities"] = {{"persons",
                             {{{"name", "Tran Van Binh"},
                               {"key", "tran van binh"},
                               {"country", "VN"},
                               {"roles", {"ministre"}},
                               {"aliases", {"M. Binh"}}},
                              {{"name", "Oleg Ivanov"},
                               {"key", "oleg ivanov"},
                               {"country", "RU"},
                               {"roles", nlohmann::json::array()},
                               {"aliases", nlohmann::json::array()}}}},
                            {"organizations", {{{"name", "Parlement"}, {"acronym", nullptr}, {"country", "VN"}}}},
                            {"places", {{{"name", "Hanoï"}, {"country", "VN"}}}}};
  doc.record["events"] = {{{"type", "meeting"},
                           {"participants", {"Tran Van Binh", "Oleg Ivanov"}},
                           {"place", "Hanoï"},
                           {"start", "2024-03-05"},
                           {"end", nullptr},
                           {"cameo", "040"}}};
  doc.record["quotes"] = {{{"speaker", "M. Binh"}, {"text", "Nous coopérerons."}}};
  doc.record["countries"] = {"VN", "RU"};
  return doc;
}

}  // namespace vnawire::testing
