// Tests of the Hunspell word list reader and of the glued-word repair.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <unordered_set>

#include "extract_test_util.h"
#include "stages/extract/extract_lexicon.h"
#include "stages/extract/extract_word_hash.h"
#include "stages/extract/extract_wordsplit.h"

namespace vnawire::extract {
namespace {

// A tiny dictionary in the layout of Debian's French one (two-character flags, NEEDAFFIX).
constexpr const char* kAff =
    "SET UTF-8\n"
    "FLAG long\n"
    "NEEDAFFIX ()\n"
    "FORBIDDENWORD {}\n"
    "SFX S. Y 2\n"
    "SFX S. 0 0 .\n"
    "SFX S. 0 s [^sxz]\n"
    "SFX a0 Y 4\n"
    "SFX a0 er er .\n"
    "SFX a0 er é er\n"
    "SFX a0 er ée er\n"
    "SFX a0 er ons er\n";
constexpr const char* kDic =
    "8\n"
    "accord/S.\n"
    "port/S.()\n"
    "visiter/a0()\n"
    "chant/()\n"
    "Vietnam\n"
    "zone/S.\n"
    "interdit/{}\n"
    "partenariat/S. po:nom\n";

std::unique_ptr<Lexicon> tiny() { return Lexicon::from_strings(kDic, kAff, "fr"); }

TEST(ExtractLexicon, StemsAndSuffixes) {
  const auto lex = tiny();
  ASSERT_NE(lex, nullptr);
  EXPECT_TRUE(lex->contains("accord"));
  EXPECT_TRUE(lex->contains("accords"));
  EXPECT_TRUE(lex->contains("ports"));
  EXPECT_TRUE(lex->contains("port"));  // NEEDAFFIX satisfied by the empty suffix
  EXPECT_TRUE(lex->contains("visité"));
  EXPECT_TRUE(lex->contains("visitée"));
  EXPECT_TRUE(lex->contains("visiter"));
  EXPECT_TRUE(lex->contains("visitons"));
  EXPECT_FALSE(lex->contains("visit"));
  EXPECT_FALSE(lex->contains("chant"));  // needs an affix it has none of
  EXPECT_FALSE(lex->contains("interdit"));
  EXPECT_FALSE(lex->contains("accordss"));
  EXPECT_TRUE(lex->contains("Vietnam"));
  EXPECT_FALSE(lex->contains("vietnam"));
  EXPECT_TRUE(lex->contains_any_case("Accords"));
  EXPECT_TRUE(lex->is_function_word("les"));
  EXPECT_FALSE(lex->is_function_word("accord"));
}

TEST(ExtractLexicon, UnreadableFilesGiveNoLexicon) {
  EXPECT_EQ(Lexicon::load_files("/nonexistent/xx.dic", "/nonexistent/xx.aff", "fr"), nullptr);
  EXPECT_EQ(Lexicon::from_strings("", "", "fr"), nullptr);
  // A dictionary without its affix file still knows its stems.
  const auto bare = Lexicon::from_strings("2\nmaison\nport/S.\n", "", "fr");
  ASSERT_NE(bare, nullptr);
  EXPECT_TRUE(bare->contains("maison"));
}

std::string repair(const std::string& text, const Lexicon* lex, const std::string& context = "") {
  Vocabulary vocab;
  vocab.add_text(text);
  vocab.add_text(context);
  return split_glued_words(fix_punctuation_spacing(text), lex, vocab);
}

TEST(ExtractWordSplit, TinyDictionaryRules) {
  const auto lex = tiny();
  ASSERT_NE(lex, nullptr);
  EXPECT_EQ(repair("laport", lex.get()), "la port");
  EXPECT_EQ(repair("accordsde", lex.get()), "accords de");
  EXPECT_EQ(repair("dupartenariat", lex.get()), "du partenariat");
  EXPECT_EQ(repair("deVietnam", lex.get()), "de Vietnam");
  EXPECT_EQ(repair("leszones", lex.get()), "les zones");
  // Known words, acronyms, digits and URLs are left alone.
  EXPECT_EQ(repair("visitée", lex.get()), "visitée");
  EXPECT_EQ(repair("ASEANDE", lex.get()), "ASEANDE");
  EXPECT_EQ(repair("2020de", lex.get()), "2020de");
  EXPECT_EQ(repair("www.laport.vn", lex.get()), "www.laport.vn");
  // No dictionary: only camel-case glue between two words the text also uses alone.
  EXPECT_EQ(repair("laport", nullptr), "laport");
  EXPECT_EQ(repair("NguyenHoa", nullptr, "Nguyen Hoa"), "Nguyen Hoa");
  EXPECT_EQ(repair("VinFast", nullptr, "Vin"), "VinFast");
}

// Chunks that every document leaves as they are (words of the lexicon, addresses) are remembered per
// thread; a chunk one document keeps for its own reasons (a capitalised unknown it writes twice is a name)
// must still be repaired in the next document, and the answers must not depend on what came before.
TEST(ExtractWordSplit, WhatOneDocumentKeepsForItsOwnReasonsIsRepairedInTheNext) {
  const Lexicon* fr = system_lexicon("fr");
  if (fr == nullptr) GTEST_SKIP() << "no French Hunspell dictionary installed";
  for (int pass = 0; pass < 2; ++pass) {
    // Written twice, a camel-case form is a brand; once, with both parts alone elsewhere, it is glue.
    EXPECT_EQ(repair("OceanBank et OceanBank", fr, "Ocean Bank"), "OceanBank et OceanBank") << pass;
    EXPECT_EQ(repair("la banque OceanBank", fr, "Ocean Bank"), "la banque Ocean Bank") << pass;
    EXPECT_EQ(repair("le président KarlHeinz,", fr, "Karl et Heinz"), "le président Karl Heinz,") << pass;
    EXPECT_EQ(repair("la coopérationéconomique, la coopération", fr), "la coopération économique, la coopération")
        << pass;
  }
}

// The chunks remembered as left alone are remembered per lexicon: a word of one is glue for another.
TEST(ExtractWordSplit, WhatOneLexiconKnowsIsNotTakenForAnothers) {
  const auto splits = tiny();
  const auto knows = Lexicon::from_strings("3\nla\nport\nlaport\n", kAff, "fr");
  ASSERT_NE(splits, nullptr);
  ASSERT_NE(knows, nullptr);
  for (int pass = 0; pass < 2; ++pass) {
    EXPECT_EQ(repair("le laport", knows.get()), "le laport") << pass;
    EXPECT_EQ(repair("le laport", splits.get()), "le la port") << pass;
  }
}

TEST(ExtractWordSplit, VocabularyCountsRunsOfLettersWhateverTheirScript) {
  Vocabulary vocab;
  // ASCII letters are read a run at a time, other letters one by one: a word mixing them is one word.
  vocab.add_text("la coopération,la Coopération 3e vòng2tròn  ĐÀ-nẵng la");
  const auto count = [&](std::string_view word) { return vocab.count(word); };
  EXPECT_EQ(count("la"), 3u);
  EXPECT_EQ(count("coopération"), 1u);
  EXPECT_EQ(count("Coopération"), 1u);
  EXPECT_EQ(count("e"), 1u);
  EXPECT_EQ(count("vòng"), 1u);
  EXPECT_EQ(count("tròn"), 1u);
  EXPECT_EQ(count("ĐÀ"), 1u);
  EXPECT_EQ(count("nẵng"), 1u);
  EXPECT_EQ(vocab.size(), 8u);
  std::size_t total = 0;
  vocab.for_each([&](std::string_view word, std::size_t n) {
    EXPECT_EQ(n, vocab.count(word)) << word;
    total += n;
  });
  EXPECT_EQ(total, 10u);
  EXPECT_EQ(count("l"), 0u);
}

TEST(ExtractWordSplit, PunctuationSpacing) {
  EXPECT_EQ(fix_punctuation_spacing("le port,la ville"), "le port, la ville");
  EXPECT_EQ(fix_punctuation_spacing("un port;une ville"), "un port; une ville");
  EXPECT_EQ(fix_punctuation_spacing("la ville.Le port"), "la ville. Le port");
  EXPECT_EQ(fix_punctuation_spacing("3,5 millions"), "3,5 millions");
  EXPECT_EQ(fix_punctuation_spacing("vietnamplus.vn"), "vietnamplus.vn");
  EXPECT_EQ(fix_punctuation_spacing("M.Le"), "M.Le");
  // The marks are searched sixteen bytes at a time: a pair at every offset across two blocks is found,
  // after marks that are not pairs, and a mark ending the text is none.
  for (std::size_t n = 1; n <= 40; ++n) {
    EXPECT_EQ(fix_punctuation_spacing(std::string(n, 'a') + ",b"), std::string(n, 'a') + ", b") << n;
    EXPECT_EQ(fix_punctuation_spacing(std::string(n, 'a') + ","), std::string(n, 'a') + ",") << n;
  }
  EXPECT_EQ(fix_punctuation_spacing("de 1,5 ou 2.5 puis 3;4 enfin le port,la ville"),
            "de 1,5 ou 2.5 puis 3;4 enfin le port, la ville");
}

TEST(ExtractWordSplit, RealDictionarySplitsGlue) {
  const Lexicon* fr = system_lexicon("fr");
  if (fr == nullptr) GTEST_SKIP() << "no French Hunspell dictionary installed";
  const std::pair<const char*, const char*> cases[] = {
      {"lesnouveaux", "les nouveaux"},
      {"dela", "de la"},
      {"unaccord", "un accord"},
      {"pourla", "pour la"},
      {"aexprimé", "a exprimé"},
      {"coopérationbilatérale", "coopération bilatérale"},
      {"économiquesde", "économiques de"},
      {"leCambodge", "le Cambodge"},
      {"Thaïlandeet", "Thaïlande et"},
      {"investissementsétrangers", "investissements étrangers"},
      {"afinque", "afin que"},
      {"chefsdela", "chefs de la"},
      {"dansl'économie", "dans l'économie"},
      {"àl’étranger", "à l’étranger"},
      {"ausein", "au sein"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(repair(in, fr), want) << in;
  EXPECT_EQ(repair("Le ministre ThanhLavrov", fr, "Thanh et Lavrov"), "Le ministre Thanh Lavrov");
}

TEST(ExtractWordSplit, FunctionWordBeforeSlipOrAcronym) {
  const Lexicon* fr = system_lexicon("fr");
  if (fr == nullptr) GTEST_SKIP() << "no French Hunspell dictionary installed";
  // Two swapped letters after a glued article: the article comes off, the slip stays as written.
  EXPECT_EQ(repair("lesdéptués ont voté", fr), "les déptués ont voté");
  EXPECT_EQ(repair("unprojte de loi", fr), "un projte de loi");
  // Not for short words, capitalised tokens or a slip that is no mere swap.
  EXPECT_EQ(repair("lapotr", fr), "lapotr");
  EXPECT_EQ(repair("Desmeerbs", fr), "Desmeerbs");
  EXPECT_EQ(repair("desmemebres", fr), "desmemebres");
  // A function word glued to an acronym; other lower-to-capital steps in acronyms stay.
  EXPECT_EQ(repair("le sommet deASEAN", fr), "le sommet de ASEAN");
  EXPECT_EQ(repair("vaccins à mRNA et eKYC", fr), "vaccins à mRNA et eKYC");
}

TEST(ExtractWordSplit, CapitalisedCamelCaseNeedsBothNamesAlone) {
  const Lexicon* fr = system_lexicon("fr");
  if (fr == nullptr) GTEST_SKIP() << "no French Hunspell dictionary installed";
  EXPECT_EQ(repair("le président KarlHeinz", fr, "Karl et Heinz"), "le président Karl Heinz");
  // A brand: one of its parts never stands alone, or the dispatch writes the whole form twice.
  EXPECT_EQ(repair("la société MaisonVerte", fr, "Verte"), "la société MaisonVerte");
  EXPECT_EQ(repair("OceanBank et OceanBank", fr, "Ocean Bank"), "OceanBank et OceanBank");
  EXPECT_EQ(fix_punctuation_spacing("voir www.PortDuSud.fr"), "voir www.PortDuSud.fr");
}

TEST(ExtractWordSplit, EnglishAndSpanishAreStricter) {
  const Lexicon* en = system_lexicon("en");
  if (en == nullptr) GTEST_SKIP() << "no English Hunspell dictionary installed";
  EXPECT_EQ(repair("theminister met the delegation", en), "the minister met the delegation");
  EXPECT_EQ(repair("signed inHanoi andAPEC", en, "Hanoi"), "signed in Hanoi and APEC");
  EXPECT_EQ(repair("talks ofthe two sides", en), "talks of the two sides");
  // Closed compounds and names that end like a function word are kept.
  for (const char* word : {"skyline", "sunbelt", "Britton", "Ariana", "bento", "Marchand"}) {
    EXPECT_EQ(repair(word, en), word);
  }
  if (const Lexicon* es = system_lexicon("es")) {
    EXPECT_EQ(repair("el ministro delgobierno", es), "el ministro del gobierno");
    EXPECT_EQ(repair("la acima", es), "la acima");
  }
}

TEST(ExtractWordSplit, RealDictionaryKeepsCorrectWords) {
  const Lexicon* fr = system_lexicon("fr");
  if (fr == nullptr) GTEST_SKIP() << "no French Hunspell dictionary installed";
  std::istringstream words(extract_testing::read_fixture("french_words.txt"));
  std::string line;
  int checked = 0;
  while (std::getline(words, line)) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_EQ(repair(line, fr), line);
    ++checked;
  }
  EXPECT_GT(checked, 150);
}

TEST(ExtractWordSplit, LanguageGate) {
  const Lexicon* fr = system_lexicon("fr");
  if (fr == nullptr) GTEST_SKIP() << "no French Hunspell dictionary installed";
  Vocabulary french;
  french.add_text("les deux ministres ont signé un accord sur la coopération économique et commerciale");
  EXPECT_GT(lexicon_coverage(*fr, french), 0.9);
  Vocabulary english;
  english.add_text("the two ministers signed an agreement on economic and trade cooperation yesterday");
  EXPECT_LT(lexicon_coverage(*fr, english), 0.6);
}

}  // namespace
}  // namespace vnawire::extract

namespace vnawire::extract {
namespace {

TEST(ExtractWordHash, EveryByteAndTheLengthCount) {
  // Words of every length up to 40 bytes, accented ones too, each changed in one byte at each offset,
  // and each cut one byte shorter: no two of them share a hash.
  std::unordered_set<std::uint64_t> seen;
  std::size_t words = 0;
  const std::string base = "gouvernement-provincial-de-thừa-thiên-huế-et-đà-nẵng";
  for (std::size_t length = 0; length <= 40; ++length) {
    const std::string word = base.substr(0, length);
    ++words;
    EXPECT_TRUE(seen.insert(word_hash(word)).second) << word;
    for (std::size_t at = 0; at < length; ++at) {
      std::string changed = word;
      changed[at] = static_cast<char>(changed[at] ^ 0x20);
      ++words;
      EXPECT_TRUE(seen.insert(word_hash(changed)).second) << changed << " at " << at;
    }
  }
  EXPECT_EQ(seen.size(), words);
  // A table keyed by strings is asked with a view of a longer text, copying nothing.
  WordMap<int> table{{"hanoi", 1}, {"hue", 2}};
  const std::string_view text = "hanoi hue";
  EXPECT_EQ(table.find(text.substr(0, 5))->second, 1);
  EXPECT_EQ(table.find(text.substr(6))->second, 2);
  EXPECT_EQ(table.find(text.substr(0, 4)), table.end());
}

// The flat table against std::unordered_map: the same answers through many growths, for words that are
// prefixes of each other, the empty word and long ones, and nothing left after clear().
TEST(ExtractWordHash, TheFlatTableAnswersAsAMapDoes) {
  FlatWordMap<int> flat;
  std::unordered_map<std::string, int> reference;
  std::string word;
  for (int i = 0; i < 20000; ++i) {
    word = (i % 7 == 0 ? std::string() : "mot") + std::to_string(i * 7919 % 5003) + std::string(i % 50, 'x');
    int& value = flat.try_emplace(word, i);
    const auto [at, added] = reference.try_emplace(word, i);
    ASSERT_EQ(value, at->second) << word << (added ? " (new)" : " (known)");
    ++value;
    ++at->second;
  }
  EXPECT_EQ(flat.size(), reference.size());
  EXPECT_EQ(flat.find(""), nullptr);
  EXPECT_EQ(flat.try_emplace("", 5), 5);
  EXPECT_EQ(*flat.find(""), 5);
  reference.emplace("", 5);
  for (const auto& [key, value] : reference) {
    const int* found = flat.find(key);
    ASSERT_NE(found, nullptr) << key;
    EXPECT_EQ(*found, value) << key;
    EXPECT_FALSE(flat.contains(key + "y")) << key;
  }
  std::size_t seen = 0;
  flat.for_each([&](std::string_view key, int value) {
    EXPECT_EQ(reference.at(std::string(key)), value);
    ++seen;
  });
  EXPECT_EQ(seen, reference.size());
  flat.clear();
  EXPECT_TRUE(flat.empty());
  EXPECT_FALSE(flat.contains("mot1"));
  EXPECT_EQ(flat.try_emplace("mot1", 9), 9);
  EXPECT_EQ(flat.size(), 1u);
}

}  // namespace
}  // namespace vnawire::extract
