// Dedupe near duplicates: boilerplate-blind words, re-edits found, same-officials meetings kept apart, expiry.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>

#include "stages/dedupe/dedupe_near.h"
#include "stages/dedupe/dedupe_normalize.h"
#include "stages/dedupe/dedupe_stage.h"
#include "stages/dedupe/dedupe_store.h"
#include "tests/stages/dedupe/dedupe_tag.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::dedupe {
namespace {

using runtime::Disposition;
using testing::make_document;
using testing::StageFixture;
using testing::tag_after;

std::string data(const std::string& name) {
  std::ifstream in(std::filesystem::path(VNAWIRE_TEST_DATA) / "dedupe" / name, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << name;
  return text.str();
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

TEST(DedupeNearWords, DropCaptionsCreditsDatelinesSignaturesAndRelatedBlocks) {
  EXPECT_EQ(joined(near_duplicate_words("Hanoï (VNA) – Le Président a reçu, le 3 mai, l'ambassadeur.-VNA/VI", false)),
            "le president a recu le 3 mai l ambassadeur");
  const std::string page =
      "Titre de la dépêche\n"
      "Le président et l'ambassadeur. Photo : VNA\n"
      "putin1.png\n"
      "Le président a reçu l'ambassadeur.\n"
      "Le président a reçu l'ambassadeur.\n"
      "Partager\n"
      "Voir plus\n"
      "Un autre article sans rapport";
  EXPECT_EQ(joined(near_duplicate_words(page, false)), "titre de la depeche le president a recu l ambassadeur");
  EXPECT_EQ(joined(near_duplicate_words(" date 2024-06-19 Đà Nẵng accueille", false)), "da nang accueille");
  EXPECT_EQ(joined(near_duplicate_words("Un.\nLire aussi : Autre titre\nDeux.\nRelated talks follow.\nXem thêm:\nTrois",
                                        false)),
            "un deux related talks follow");
  EXPECT_EQ(joined(near_duplicate_words("<p>L&eacute;gende&nbsp;du</p><p>texte&#233;</p>", true)), "legende du textee");
  EXPECT_EQ(joined(near_duplicate_words("越俄关系", false)), "越 俄 关 系");
  // A long paragraph that mentions a photo is prose, not a caption.
  const std::string prose(500, 'a');
  EXPECT_EQ(near_duplicate_words(prose + " photo: " + prose, false).size(), 3u);
}

TEST(DedupeNearWords, EveryRelatedHeadingEndsTheTextAndLinesAreTrimmed) {
  for (const std::string heading :
       {"Voir plus", "Lire aussi", "Lire plus", "À lire aussi", "Articles similaires", "Sur le même sujet", "Read more",
        "Read also", "Related", "See more", "Xem thêm", "Tin liên quan", "Bài liên quan", "Ver más", "Leer más",
        "Читать далее", "查看更多", "相关新闻", "相关文章"}) {
    EXPECT_EQ(joined(near_duplicate_words(" \tUn deux.\r\n\t\r\n" + heading + " :\r\nTrois quatre", false)), "un deux")
        << heading;
    // Inside a line, the heading and a title: that line only.
    EXPECT_EQ(joined(near_duplicate_words("Un deux.\n" + heading + " : Trois\nQuatre", false)), "un deux quatre")
        << heading;
  }
  // A line that starts like no heading, or with a heading's first letter only, is text.
  EXPECT_EQ(joined(near_duplicate_words("Voici plus\nLire\nRelate", false)), "voici plus lire relate");
}

TEST(DedupeNearWords, ACaptionMarkIsFoundWhereverItSitsOnItsLine) {
  // Each mark at the start, inside and at the end of a caption-sized line, after text that repeats its
  // other bytes (spaces, "anh", "photo") without the mark; and the near misses that are not marks.
  for (const std::string mark : {"photo:", "photo :", "(photo", "ảnh:", "ảnh :", "nguồn:", "source :", "source:",
                                 "foto:", "foto :", "Фото:", "hình ảnh 1", " ảnh 1", "图自", "图片来源"}) {
    for (const std::string& line : {mark + " des gens", "anh photo sur " + mark + " la rive", "la rive anh " + mark}) {
      if (line.starts_with(' ')) continue;  // lines are trimmed first: " ảnh 1" marks a word ending in ảnh 1
      EXPECT_EQ(joined(near_duplicate_words("Le texte.\n" + line + "\nLa suite.", false)), "le texte la suite") << line;
    }
  }
  for (const std::string line : {"la photo du jour", "anh 1 et source", "photo", "le 1er ảnh", "foto de grupo"}) {
    EXPECT_NE(joined(near_duplicate_words("Le texte.\n" + line, false)), "le texte") << line;
  }
}

TEST(DedupeNearSignature, ShinglesAreSortedOnceEachWhateverTheirNumber) {
  // Long texts take the counting sort, short ones the comparison sort: both give each distinct
  // shingle once, in order, repeated phrases included. 65 and 66 words make 63 and 64 shingles, the two
  // sides of the boundary.
  NearOptions options;
  for (const std::size_t words_in_text : {5u, 40u, 65u, 66u, 67u, 300u, 3000u}) {
    std::vector<std::string> words;
    for (std::size_t i = 0; i < words_in_text; ++i) words.push_back("mot" + std::to_string(i % 97 * 7919 % 1009));
    std::set<std::string> distinct;
    for (std::size_t i = 0; i + 3 <= words.size(); ++i)
      distinct.insert(words[i] + " " + words[i + 1] + " " + words[i + 2]);
    const auto signature = near_signature(words, options);
    EXPECT_TRUE(std::is_sorted(signature.shingles.begin(), signature.shingles.end())) << words_in_text;
    EXPECT_EQ(std::adjacent_find(signature.shingles.begin(), signature.shingles.end()), signature.shingles.end());
    EXPECT_EQ(signature.shingles.size(), distinct.size()) << words_in_text;
    // The words repeat every 97, so a long text holds each of its shingles many times and its first 99
    // words hold each once. MinHash ignores repeats and SimHash weighs each distinct shingle once: both
    // texts have the same band keys under both.
    if (words_in_text < 300) continue;
    EXPECT_EQ(distinct.size(), 97u);
    const std::vector<std::string> once(words.begin(), words.begin() + 99);
    for (const NearMethod method : {NearMethod::MinHash, NearMethod::SimHash}) {
      NearOptions with = options;
      with.method = method;
      EXPECT_EQ(near_signature(words, with).band_keys, near_signature(once, with).band_keys) << words_in_text;
    }
  }
}

TEST(DedupeNearSignature, ContainmentCountsEverySharedShingleOnce) {
  // Random sorted shingle sets of every small size and of page size, sharing none, some or all: the
  // block-wise count equals the plain intersection.
  std::mt19937 random(20261203);
  for (int round = 0; round < 3000; ++round) {
    const std::size_t size_a = round < 2000 ? random() % 40 : 500 + random() % 5000;
    const std::size_t size_b = round < 2000 ? random() % 40 : 500 + random() % 5000;
    const std::uint32_t range = round % 3 == 0 ? 64 : (round % 3 == 1 ? 10000 : 0xffffffffu);
    std::set<std::uint32_t> a, b;
    while (a.size() < std::min<std::size_t>(size_a, range)) a.insert(static_cast<std::uint32_t>(random() % range));
    while (b.size() < std::min<std::size_t>(size_b, range)) b.insert(static_cast<std::uint32_t>(random() % range));
    if (round % 7 == 0) b = a;  // all shared
    const std::vector<std::uint32_t> va(a.begin(), a.end()), vb(b.begin(), b.end());
    std::vector<std::uint32_t> shared;
    std::set_intersection(va.begin(), va.end(), vb.begin(), vb.end(), std::back_inserter(shared));
    const double expected = va.empty() || vb.empty() ? 0.0
                                                     : static_cast<double>(shared.size()) /
                                                           static_cast<double>(std::min(va.size(), vb.size()));
    ASSERT_DOUBLE_EQ(containment(va, vb), expected) << round;
    ASSERT_DOUBLE_EQ(containment(vb, va), expected) << round;
  }
}

TEST(DedupeNearSignature, ContainmentAndNumbers) {
  NearOptions options;
  const auto words = near_duplicate_words(data("meeting_march.txt"), false);
  const auto a = near_signature(words, options);
  EXPECT_EQ(a.band_keys.size(), 32u);
  EXPECT_DOUBLE_EQ(containment(a.shingles, a.shingles), 1.0);
  auto half = words;
  half.resize(words.size() / 2);
  const auto b = near_signature(half, options);
  EXPECT_DOUBLE_EQ(containment(a.shingles, b.shingles), 1.0) << "a copy cut shorter is contained";
  EXPECT_LT(jaccard(a.shingles, b.shingles), 0.6);
  const auto november = near_signature(near_duplicate_words(data("meeting_november.txt"), false), options);
  EXPECT_TRUE(numbers_contradict(a, november)) << "la 24e session against la 25e session";
  EXPECT_FALSE(numbers_contradict(a, b));
  // Years each copy has and the other lost, but in other phrases: copies cut at different lengths.
  const auto years = [&](const std::string& text) {
    return near_signature(near_duplicate_words(text, false), options);
  };
  EXPECT_FALSE(numbers_contradict(years("fondée en 1950 et la visite de 2024"),
                                  years("la visite de 2024 puis le traité de 1992")));
  EXPECT_TRUE(numbers_contradict(years("le bilan de l'année 2018 est"), years("le bilan de l'année 2019 est")));
  options.method = NearMethod::SimHash;
  EXPECT_EQ(near_signature(words, options).band_keys.size(), 4u);
  EXPECT_EQ(hamming(0b1011, 0b0001), 2);
}

TEST(DedupeNearSignature, AFewWordsFoundInALongerTextAreNotANearDuplicate) {
  NearOptions options;
  const auto headline =
      near_signature(near_duplicate_words("Le Premier ministre reçoit l'ambassadeur", false), options);
  const auto dispatch = near_signature(near_duplicate_words(data("meeting_march.txt"), false), options);
  EXPECT_DOUBLE_EQ(near_similarity(headline, headline, options), 0.0);
  EXPECT_GT(near_similarity(dispatch, dispatch, options), 0.99);
}

class DedupeNearMethods : public ::testing::TestWithParam<const char*> {};

TEST_P(DedupeNearMethods, AReEditIsANearDuplicateAndTheSameOfficialsAtAnotherMeetingAreNot) {
  StageFixture fixture(dedupe_descriptor(),
                       std::string("{action: tag, near_action: tag, near_method: ") + GetParam() + "}");
  auto& stage = fixture.start();
  EXPECT_EQ(tag_after(stage, "march", data("meeting_march.txt"))["status"], "unique");
  EXPECT_EQ(tag_after(stage, "november", data("meeting_november.txt"))["status"], "unique");
  EXPECT_EQ(tag_after(stage, "phone", data("phone_call.txt"))["status"], "unique");
  // The same copy with another outlet's layout: a title, a caption, a dateline, a share button, a
  // reworded subject, the last paragraph cut, a "Voir plus" block.
  const auto copy = tag_after(stage, "reedited", data("meeting_march_reedited.html"), "text/html");
  if (std::string(GetParam()) == "minhash") {
    EXPECT_EQ(copy["status"], "near_duplicate");
    EXPECT_EQ(copy["of"], "march");
    EXPECT_GT(copy["similarity"].get<double>(), 0.6);
    EXPECT_LT(copy["similarity"].get<double>(), 1.0);
  } else {
    EXPECT_TRUE(copy["status"] == "near_duplicate" || copy["status"] == "unique") << copy;
  }
  EXPECT_EQ(fixture.counters().get("unique") + fixture.counters().get("near_duplicate"), 4u);
}

// Bulletins from one template share nearly every word; only their figures tell them apart.
TEST(DedupeNear, BulletinsFromOneTemplateWithOtherFiguresAreNotMerged) {
  const auto bulletin = [](int day, int rice, int coffee, int pepper, int rate) {
    return "Hanoï (VNA) - Les prix agricoles du " + std::to_string(day) +
           " de ce mois sur les marchés de gros du delta du Mékong. Le riz parfumé s'échange à " +
           std::to_string(rice) + " dongs le kilo, le café robusta à " + std::to_string(coffee) +
           " dongs le kilo et le poivre noir à " + std::to_string(pepper) +
           " dongs le kilo, selon le service provincial de l'agriculture. Le taux de change de référence de la "
           "Banque d'État est fixé à " +
           std::to_string(rate) +
           " dongs pour un dollar. Les négociants s'attendent à des prix stables la semaine "
           "prochaine, la demande à l'exportation restant soutenue. -VNA";
  };
  StageFixture fixture(dedupe_descriptor(), "{action: tag, near_action: tag}");
  auto& stage = fixture.start();
  EXPECT_EQ(tag_after(stage, "monday", bulletin(3, 18500, 121000, 147000, 25410))["status"], "unique");
  EXPECT_EQ(tag_after(stage, "tuesday", bulletin(4, 18700, 119500, 147500, 25398))["status"], "unique");
  // The same bulletin reprinted with one figure corrected is still a copy.
  const auto corrected = tag_after(stage, "corrected", bulletin(4, 18700, 119500, 147500, 25399));
  EXPECT_EQ(corrected["status"], "near_duplicate");
  EXPECT_EQ(corrected["of"], "tuesday");
}

INSTANTIATE_TEST_SUITE_P(Methods, DedupeNearMethods, ::testing::Values("minhash", "simhash"));

TEST(DedupeNear, NearDuplicatesAreDroppedUnlessTaggedAndStayDroppedWhenReplayed) {
  StageFixture fixture(dedupe_descriptor(), "{action: tag}");  // near_action stays drop
  {
    auto& stage = fixture.start();
    EXPECT_EQ(tag_after(stage, "march", data("meeting_march.txt"))["status"], "unique");
    auto copy = make_document("reedited", data("meeting_march_reedited.html"), "text/html");
    const auto verdict = stage.on_message(copy);
    EXPECT_EQ(verdict.disposition, Disposition::Drop);
    EXPECT_EQ(verdict.reason, "near duplicate of march");
    ASSERT_TRUE(stage.flush().ok());
  }
  // After a crash the copy comes again: still a near duplicate (a replay passes only for what passed).
  auto& restarted = fixture.start();
  auto again = make_document("reedited", data("meeting_march_reedited.html"), "text/html");
  EXPECT_EQ(restarted.on_message(again).disposition, Disposition::Drop);
  EXPECT_EQ(tag_after(restarted, "march", data("meeting_march.txt"))["status"], "replay");
}

TEST(DedupeNear, TheSameUrlUnderAnotherIdIsADuplicateAndAnUpdateIsNotANearDuplicateOfItself) {
  StageFixture fixture(dedupe_descriptor(), "{action: tag, near_action: tag}");
  auto& stage = fixture.start();
  EXPECT_EQ(tag_after(stage, "a", data("phone_call.txt"), "text/plain", "https://x.vn/1")["status"], "unique");
  const auto same_page = tag_after(stage, "b", data("meeting_march.txt"), "text/plain", "https://x.vn/1");
  EXPECT_EQ(same_page["status"], "duplicate");
  EXPECT_EQ(same_page["of"], "a");
  EXPECT_EQ(tag_after(stage, "c", data("meeting_march.txt"))["status"], "unique");
  EXPECT_EQ(tag_after(stage, "c", data("meeting_march.txt") + " Mise à jour.")["status"], "update");
  // The update replaced c's entry in the index: a copy of its text points at c once, not at a ghost.
  const auto copy = tag_after(stage, "d", data("meeting_march_reedited.html"), "text/html");
  EXPECT_EQ(copy["status"], "near_duplicate");
  EXPECT_EQ(copy["of"], "c");
}

TEST(DedupeNear, EntriesOlderThanTheWindowAreNeitherCandidatesNorKept) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  NearOptions options;
  const auto original = near_signature(near_duplicate_words(data("meeting_march.txt"), false), options);
  const auto copy = near_signature(near_duplicate_words(data("meeting_march_reedited.html"), true), options);
  const std::int64_t day = 86400, window = 90 * day, t0 = 1'700'000'000;
  {
    FingerprintStore store;
    ASSERT_TRUE(store.open(dir, 64 << 20).ok());
    NearRequest at_t0{&original, &options, t0, window};
    EXPECT_EQ(store.check_and_record("old", "f1", "", &at_t0).outcome->decision, Decision::Unique);
    NearRequest within{&copy, &options, t0 + 89 * day, window};
    EXPECT_EQ(store.check_and_record("copy1", "f2", "", &within).outcome->decision, Decision::NearDuplicate);
    NearRequest after{&copy, &options, t0 + 91 * day, window};
    const auto late = store.check_and_record("copy2", "f3", "", &after);
    EXPECT_EQ(late.outcome->decision, Decision::NearDuplicate) << "copy1 is still within the window";
    EXPECT_EQ(late.outcome->of, "copy1");
    // Bounded batches: one entry at a time, then nothing more is old enough.
    EXPECT_EQ(*store.expire(t0 + 91 * day, window, 1), 1);
    EXPECT_EQ(*store.expire(t0 + 91 * day, window, 10), 0);
    EXPECT_EQ(*store.expire(t0 + 300 * day, window, 10), 2);
  }
  FingerprintStore reopened;
  ASSERT_TRUE(reopened.open(dir, 64 << 20).ok());
  NearRequest later{&copy, &options, t0 + 300 * day, window};
  EXPECT_EQ(reopened.check_and_record("copy3", "f4", "", &later).outcome->decision, Decision::Unique);
  std::filesystem::remove_all(dir);
}

// log_reads() counts the records read to decide: none for a text nothing resembles, one per candidate
// verified, one per exact match confirmed.
TEST(DedupeNear, TheStoreCountsTheLogRecordsItReadsToDecide) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  NearOptions options;
  const auto original = near_signature(near_duplicate_words(data("meeting_march.txt"), false), options);
  const auto copy = near_signature(near_duplicate_words(data("meeting_march_reedited.html"), true), options);
  const std::int64_t t0 = 1'700'000'000, window = 90 * 86400;
  FingerprintStore store;
  ASSERT_TRUE(store.open(dir, 64 << 20).ok());
  NearRequest first{&original, &options, t0, window};
  EXPECT_EQ(store.check_and_record("a", "f1", "", &first).outcome->decision, Decision::Unique);
  EXPECT_EQ(store.log_reads(), 0u) << "an empty store has nothing to read";
  NearRequest second{&copy, &options, t0, window};
  EXPECT_EQ(store.check_and_record("b", "f2", "", &second).outcome->decision, Decision::NearDuplicate);
  EXPECT_EQ(store.log_reads(), 1u) << "one candidate, a's record, verified";
  EXPECT_EQ(store.check_and_record("c", "f1", "", &first).outcome->decision, Decision::Duplicate);
  EXPECT_EQ(store.log_reads(), 2u) << "the text fingerprint's first record, read to confirm it";
  std::filesystem::remove_all(dir);
}

// The project's samples in every language: each copy and re-edit the manifest names is found, nothing else.
TEST(DedupeNear, TheSampleDispatchesDecideAsTheirManifestSays) {
  const std::filesystem::path samples = std::filesystem::path(VNAWIRE_SOURCE_DIR) / "examples" / "samples";
  std::ifstream in(samples / "MANIFEST.json");
  const auto manifest = nlohmann::json::parse(in);
  StageFixture fixture(dedupe_descriptor(), "{action: tag, near_action: tag}");
  auto& stage = fixture.start();
  for (const auto& entry : manifest) {
    const std::string file = entry["file"];
    std::ifstream sample(samples / file, std::ios::binary);
    std::ostringstream body;
    body << sample.rdbuf();
    const auto tag = tag_after(stage, file, body.str(), entry["format"] == "html" ? "text/html" : "text/plain");
    if (entry["duplicate_of"].is_string()) {
      EXPECT_EQ(tag["status"], "duplicate") << file;
      EXPECT_EQ(tag["of"], entry["duplicate_of"]) << file;
    } else if (entry["near_duplicate_of"].is_string()) {
      EXPECT_EQ(tag["status"], "near_duplicate") << file;
      EXPECT_EQ(tag["of"], entry["near_duplicate_of"]) << file;
    } else {
      EXPECT_EQ(tag["status"], "unique") << file << ": " << tag;
    }
  }
}

}  // namespace
}  // namespace vnawire::dedupe
