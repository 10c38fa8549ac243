// Tests of event reading (type, participants, place, dates, merging) on sentences written for these tests.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_entities.h"
#include "stages/extract/extract_events.h"
#include "tests/stages/extract/extract_test_util.h"

namespace vnawire::extract {
namespace {

using extract_testing::person;

Place place(std::string name) {
  Place p;
  p.name = std::move(name);
  return p;
}

std::vector<Event> events_of(std::vector<std::string> body, std::vector<Person> persons, std::vector<Place> places = {},
                             std::optional<Dateline> dateline = std::nullopt,
                             std::optional<std::string> published = std::nullopt) {
  Article a;
  a.body = std::move(body);
  a.dateline = std::move(dateline);
  a.published = std::move(published);
  Entities e;
  e.persons = std::move(persons);
  e.places = std::move(places);
  return extract_events(a, e);
}

TEST(ExtractEvents, VisitWithDateRangeAndPlaceAfterTheTrigger) {
  const auto ev = events_of({"Le ministre Hoang Van Phuc a effectué une visite officielle en Norvège du 4 au 7 mars."},
                            {person("Hoang Van Phuc")}, {place("Norvège")}, std::nullopt, "2031-03");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, "visit");
  EXPECT_EQ(ev[0].participants, std::vector<std::string>{"Hoang Van Phuc"});
  EXPECT_EQ(ev[0].place, "Norvège");
  EXPECT_EQ(ev[0].start, "2031-03-04");
  EXPECT_EQ(ev[0].end, "2031-03-07");
  EXPECT_EQ(ev[0].cameo, "042");
}

TEST(ExtractEvents, MeetingWithCounterpartFallsBackOnTheDatelineDate) {
  const auto ev = events_of({"La ministre Lam Bich Ngoc a eu un entretien avec son homologue chilien Pablo Ortega."},
                            {person("Lam Bich Ngoc"), person("Pablo Ortega")}, {}, Dateline{"Santiago", "XXXX-05-12"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, "meeting");
  EXPECT_EQ(ev[0].participants, (std::vector<std::string>{"Lam Bich Ngoc", "Pablo Ortega"}));
  EXPECT_EQ(ev[0].place, "Santiago");
  EXPECT_EQ(ev[0].start, "XXXX-05-12");
  EXPECT_FALSE(ev[0].end);
}

TEST(ExtractEvents, PronounSubjectIsTheProtagonistAndEachPersonMetIsOneMeeting) {
  const auto ev =
      events_of({"M. Dinh Quoc Bao a effectué une visite de travail en Égypte.",
                 "Il a rencontré le ministre Omar Salem ; le gouverneur Karim Nabil.",
                 "Lors de sa séance de travail avec Omar Salem, les deux parties ont discuté du commerce."},
                {person("Dinh Quoc Bao", {"M. Bao"}), person("Omar Salem"), person("Karim Nabil")}, {place("Égypte")});
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type, "visit");
  EXPECT_EQ(ev[1].participants, (std::vector<std::string>{"Dinh Quoc Bao", "Omar Salem"}));
  EXPECT_EQ(ev[2].participants, (std::vector<std::string>{"Dinh Quoc Bao", "Karim Nabil"}));
}

TEST(ExtractEvents, PhoneCallIsNotAlsoAMeeting) {
  const auto ev = events_of({"Ngo Thi Hanh a eu un entretien téléphonique avec Lukas Berger le 3 avril."},
                            {person("Ngo Thi Hanh"), person("Lukas Berger")});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, "phone_call");
  EXPECT_EQ(ev[0].cameo, "041");
  EXPECT_EQ(ev[0].start, "XXXX-04-03");
}

TEST(ExtractEvents, EnglishAndVietnameseTriggers) {
  auto ev = events_of({"Prime Minister Vo Duc Tam met Chancellor Anna Keller in Hanoi."},
                      {person("Vo Duc Tam"), person("Anna Keller")});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, "meeting");
  ev = events_of({"Thủ tướng Vo Duc Tam điện đàm với Thủ tướng Anna Keller."},
                 {person("Vo Duc Tam"), person("Anna Keller")});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, "phone_call");
  // "tiếp tục" (continue) is no reception.
  ev = events_of({"Vo Duc Tam và Anna Keller tiếp tục thúc đẩy hợp tác."},
                 {person("Vo Duc Tam"), person("Anna Keller")});
  EXPECT_TRUE(ev.empty());
}

TEST(ExtractEvents, AgreementAndAttendedConference) {
  const auto ev = events_of({"Tran Minh Quan et Sofia Lind ont signé un mémorandum sur l'énergie.",
                             "Il a participé au forum organisé par la chambre de commerce.",
                             "Les deux pays se coordonneront dans les forums multilatéraux."},
                            {person("Tran Minh Quan"), person("Sofia Lind")});
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, "agreement");
  EXPECT_EQ(ev[0].participants, (std::vector<std::string>{"Tran Minh Quan", "Sofia Lind"}));
  EXPECT_EQ(ev[1].type, "conference");
  EXPECT_EQ(ev[1].participants, std::vector<std::string>{"Tran Minh Quan"});
}

TEST(ExtractEvents, SameEventInLeadAndBodyIsKeptOnceAndMeetingNeedsTwoPersons) {
  Article a;
  a.title = "Le président Phan Duc Long reçoit un ambassadeur";
  a.lead = "Phan Duc Long a reçu le 9 juin l'ambassadeur Jonas Weber.";
  a.body = {"Le président Phan Duc Long a reçu le 9 juin l'ambassadeur Jonas Weber à Hanoi."};
  Entities e;
  e.persons = {person("Phan Duc Long"), person("Jonas Weber")};
  const auto ev = extract_events(a, e);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].start, "XXXX-06-09");
  const nlohmann::json j = events_to_json(ev);
  EXPECT_EQ(j[0]["cameo"], "040");
  EXPECT_TRUE(j[0]["end"].is_null());
}

TEST(ExtractEvents, VisitWithoutANamedVisitorIsNoEvent) {
  EXPECT_TRUE(events_of({"Un navire a fait une visite au port de Da Nang."}, {person("Le Van Hai")}).empty());
}

}  // namespace
}  // namespace vnawire::extract
