// Records the sink tests store, shared by the SQLite and PostgreSQL tests so both check the same rows.
#pragma once

#include <functional>
#include <string>

#include <gtest/gtest.h>

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

// A query's first value as text, on the database under test.
using Scalar = std::function<std::string(const std::string& sql)>;

// What both database sinks store of meeting_record: the same query gives the same answer on either.
inline void expect_meeting_rows(const Scalar& scalar) {
  EXPECT_EQ(scalar("SELECT count(*) FROM document_persons"), "2");
  EXPECT_EQ(scalar("SELECT roles FROM document_persons WHERE person_key = 'tran van binh'"), "[\"ministre\"]");
  EXPECT_EQ(scalar("SELECT country FROM persons WHERE key = 'oleg ivanov'"), "RU");
  EXPECT_EQ(scalar("SELECT count(*) FROM event_participants WHERE person_key IS NOT NULL"), "2");
  EXPECT_EQ(scalar("SELECT cameo || ' ' || start FROM events"), "040 2024-03-05");
  EXPECT_EQ(scalar("SELECT speaker_key FROM quotes"), "tran van binh") << "linked through the alias";
  EXPECT_EQ(scalar("SELECT count(*) FROM document_countries WHERE country IN ('RU', 'VN')"), "2");
  EXPECT_EQ(scalar("SELECT count(*) FROM document_organizations WHERE acronym IS NULL"), "1");
  EXPECT_EQ(scalar("SELECT name FROM document_places"), "Hanoï");
}

// meeting_record without its second person and its event.
inline runtime::Document meeting_update(const std::string& id) {
  auto update = meeting_record(id);
  update.record["entities"]["persons"].erase(1);
  update.record["events"] = nlohmann::json::array();
  return update;
}

// After meeting_update: none of the dropped rows is left behind.
inline void expect_meeting_update_rows(const Scalar& scalar) {
  EXPECT_EQ(scalar("SELECT count(*) FROM document_persons"), "1");
  EXPECT_EQ(scalar("SELECT count(*) FROM events") + scalar("SELECT count(*) FROM event_participants"), "00");
  EXPECT_EQ(scalar("SELECT count(*) FROM documents_text"), "1");
}

}  // namespace vnawire::testing
