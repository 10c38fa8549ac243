// Fetch charsets: BOM, header, <meta> and XML declarations, wrong declarations overridden, legacy bytes detected.
#include "stages/fetch/fetch_charset.h"

#include <gtest/gtest.h>

#include <iterator>
#include <random>

namespace vnawire::fetch {

// Whole results compare at once, and print readably when they differ.
bool operator==(const DecodedText& a, const DecodedText& b) {
  return a.utf8 == b.utf8 && a.charset == b.charset && a.source == b.source;
}

void PrintTo(const DecodedText& text, std::ostream* out) {
  *out << "{utf8: \"" << text.utf8 << "\", charset: " << text.charset << ", source: " << text.source << "}";
}

namespace {

// The test's own encoders, kept apart from ICU so that the expectations do not lean on what is tested.
std::vector<char32_t> code_points(std::string_view utf8) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    const int length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    char32_t cp = length == 1 ? lead : lead & (0x3F >> (length - 1));
    for (int k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
    out.push_back(cp);
    i += length;
  }
  return out;
}

std::string to_windows_1252(std::string_view utf8) {
  std::string out;
  for (char32_t cp : code_points(utf8)) {
    switch (cp) {
      case U'€':
        out += '\x80';
        break;
      case U'’':
        out += '\x92';
        break;
      case U'“':
        out += '\x93';
        break;
      case U'”':
        out += '\x94';
        break;
      case U'œ':
        out += '\x9C';
        break;
      case U'Œ':
        out += '\x8C';
        break;
      default:
        if (cp >= 0x100) ADD_FAILURE() << "not in windows-1252: U+" << std::hex << static_cast<unsigned>(cp);
        out += static_cast<char>(cp);
    }
  }
  return out;
}

// Russian letters only: windows-1251 lays out А..я in order from 0xC0.
std::string to_windows_1251(std::string_view utf8) {
  std::string out;
  for (char32_t cp : code_points(utf8)) {
    if (cp >= U'А' && cp <= U'я') {
      out += static_cast<char>(cp - U'А' + 0xC0);
    } else {
      if (cp >= 0x80) ADD_FAILURE() << "not handled: U+" << std::hex << static_cast<unsigned>(cp);
      out += static_cast<char>(cp);
    }
  }
  return out;
}

std::string to_utf16(std::string_view utf8, bool little_endian) {
  std::string out;
  auto unit = [&](unsigned value) {
    const char high = static_cast<char>(value >> 8), low = static_cast<char>(value & 0xFF);
    out += little_endian ? low : high;
    out += little_endian ? high : low;
  };
  for (char32_t cp : code_points(utf8)) {
    if (cp >= 0x10000) {
      unit(0xD800 + ((cp - 0x10000) >> 10));
      unit(0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      unit(cp);
    }
  }
  return out;
}

bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    const int length = lead >= 0xC2 && lead <= 0xDF   ? 2
                       : lead >= 0xE0 && lead <= 0xEF ? 3
                       : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                      : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (int k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) || (lead == 0xF0 && second < 0x90) ||
        (lead == 0xF4 && second > 0x8F)) {
      return false;
    }
    i += length;
  }
  return true;
}

const std::string kFrench =
    "<p>Le ministre a déclaré à la presse qu’il était très satisfait : « Nous avons reçu une réponse claire de "
    "nos partenaires, et le cœur du projet est préservé », a-t-il ajouté. Après une journée chargée, la "
    "délégation française s’est rendue à l’hôpital où l’équipe médicale a présenté ses résultats. Les "
    "sœurs Lefèvre, élèves du lycée voisin, ont également reçu un prix de 500 € pour leur œuvre.</p>";

const std::string kVietnamese =
    "<p>Thủ tướng Chính phủ đã chủ trì cuộc họp trực tuyến với các địa phương về phát triển kinh tế – xã hội, "
    "nhấn mạnh yêu cầu đẩy nhanh tiến độ giải ngân vốn đầu tư công trong những tháng cuối năm.</p>";

DecodedText decode(std::string_view body, std::string_view content_type = "") {
  auto result = decode_to_utf8(body, content_type);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error());
  return result.ok() ? *result : DecodedText{};
}

DecodedText expected(std::string utf8, std::string charset, std::string source) {
  return DecodedText{std::move(utf8), std::move(charset), std::move(source)};
}

const std::string kHtmlUtf8 = "text/html; charset=utf-8";

TEST(FetchCharset, CharsetOfContentType) {
  const std::pair<const char*, const char*> cases[] = {
      {"text/html; charset=UTF-8", "utf-8"},
      {"text/html;charset=\"Windows-1252\"", "windows-1252"},
      {"text/html; Charset = 'ISO-8859-1' ; q=1", "iso-8859-1"},
      {"text/html; format=flowed; charset=utf-8", "utf-8"},
      {"text/html", ""},
      {"", ""},
      {"text/html; charset=", ""},
      {"text/html; xcharset=latin1", ""},
  };
  for (const auto& [content_type, charset] : cases) EXPECT_EQ(charset_of_content_type(content_type), charset);
}

TEST(FetchCharset, UndeclaredValidUtf8IsTakenAsIs) {
  EXPECT_EQ(decode(kVietnamese), expected(kVietnamese, "UTF-8", "utf-8"));
  EXPECT_EQ(decode(""), expected("", "UTF-8", "utf-8"));
  EXPECT_EQ(decode("plain ASCII"), expected("plain ASCII", "UTF-8", "utf-8"));
  EXPECT_EQ(decode(kVietnamese, kHtmlUtf8), expected(kVietnamese, "UTF-8", "header"));
}

TEST(FetchCharset, BomIsStrippedAndWinsOverDeclarations) {
  const std::string meta = "<meta charset=\"windows-1252\">";
  EXPECT_EQ(decode("\xEF\xBB\xBF" + meta + kVietnamese, "text/html; charset=windows-1252"),
            expected(meta + kVietnamese, "UTF-8", "bom"));
  EXPECT_EQ(decode("\xFF\xFE" + to_utf16(kVietnamese, true), kHtmlUtf8), expected(kVietnamese, "UTF-16LE", "bom"));
  EXPECT_EQ(decode("\xFE\xFF" + to_utf16("Hà Nội 🌏", false)), expected("Hà Nội 🌏", "UTF-16BE", "bom"));
}

TEST(FetchCharset, Utf16WithoutBomIsDetected) {
  EXPECT_EQ(decode(to_utf16(kVietnamese, true)), expected(kVietnamese, "UTF-16LE", "detected"));
  // ASCII in UTF-16 is valid UTF-8 byte for byte, NULs and all; it must not be taken as such.
  const std::string english = "<p>The ministry published the full schedule of the conference on Monday.</p>";
  EXPECT_EQ(decode(to_utf16(english, false)), expected(english, "UTF-16BE", "detected"));
}

TEST(FetchCharset, HeaderWindows1252AndItsLatin1AndAsciiAliases) {
  EXPECT_EQ(decode(to_windows_1252(kFrench), "text/html; charset=windows-1252"),
            expected(kFrench, "windows-1252", "header"));
  // Bytes 0x80-0x9F are "€", "’" and "œ" here, not C1 controls.
  const std::string phrase = "Déjà : l’œuvre coûte 20 €.";
  for (const char* label : {"iso-8859-1", "ISO-8859-1", "latin1", "us-ascii", "ascii"}) {
    EXPECT_EQ(decode(to_windows_1252(phrase), std::string("text/html; charset=") + label),
              expected(phrase, "windows-1252", "header"))
        << label;
  }
}

TEST(FetchCharset, MetaCharsetForms) {
  const std::string french = "<p>Ça a été très apprécié.</p>";
  for (const char* meta :
       {"<meta charset=\"windows-1252\">", "<META CHARSET=windows-1252>", "<meta charset='iso-8859-1' />",
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\">",
        "<meta content='text/html; charset=ISO-8859-1' http-equiv='content-type'>",
        "<META HTTP-EQUIV=Content-Type CONTENT=\"text/html;charset=latin1\">"}) {
    const std::string head = std::string("<html><head>") + meta + "</head><body>";
    EXPECT_EQ(decode(head + to_windows_1252(french), "text/html"), expected(head + french, "windows-1252", "meta"))
        << meta;
  }
}

TEST(FetchCharset, MetaLookalikesAreIgnored) {
  const std::string body = "<!-- <meta charset=\"koi8-r\"> --><meta name=\"x\" data-charset=\"koi8-r\" content=\"a\">" +
                           std::string("<meta name=\"description\" content=\"charset=koi8-r\">") + kVietnamese;
  EXPECT_EQ(decode(body), expected(body, "UTF-8", "utf-8"));
}

TEST(FetchCharset, MetaAfterFourKiBIsNotRead) {
  const std::string head = "<html><head><script>" + std::string(5000, ' ') + "</script><meta charset=\"koi8-r\">";
  EXPECT_EQ(decode(head + to_windows_1252(kFrench)), expected(head + kFrench, "windows-1252", "detected"));
}

TEST(FetchCharset, HeaderBeatsMeta) {
  // 0xE8 is "è" in windows-1252 and "č" in ISO-8859-2.
  const std::string meta = "<meta charset=\"iso-8859-2\">";
  EXPECT_EQ(decode(meta + "Apr\xE8s", "text/html; charset=windows-1252"),
            expected(meta + "Après", "windows-1252", "header"));
  EXPECT_EQ(decode(meta + "Apr\xE8s", "text/html"), expected(meta + "Apr\xC4\x8Ds", "ISO-8859-2", "meta"));
}

TEST(FetchCharset, XmlDeclaration) {
  const std::string declaration = "<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<rss><title>";
  const std::string title = "Élection : résultats définitifs";
  EXPECT_EQ(decode(declaration + to_windows_1252(title), "application/rss+xml"),
            expected(declaration + title, "windows-1252", "xml"));
  EXPECT_EQ(decode("  <?xml version='1.0' encoding='ISO-8859-1'?><a>\xE0</a>"),
            expected("  <?xml version='1.0' encoding='ISO-8859-1'?><a>à</a>", "windows-1252", "xml"));
}

TEST(FetchCharset, WrongUtf8DeclarationFallsToMetaThenDetection) {
  const std::string meta = "<meta charset=\"windows-1252\">";
  EXPECT_EQ(decode(meta + to_windows_1252(kFrench), kHtmlUtf8), expected(meta + kFrench, "windows-1252", "meta"));
  EXPECT_EQ(decode(to_windows_1252(kFrench), "text/html; charset=UTF-8"),
            expected(kFrench, "windows-1252", "detected"));
}

TEST(FetchCharset, SingleByteDeclarationOnUtf8IsOverridden) {
  EXPECT_EQ(decode(kVietnamese, "text/html; charset=iso-8859-1"), expected(kVietnamese, "UTF-8", "detected"));
  const std::string meta = "<meta charset=\"windows-1252\">";
  EXPECT_EQ(decode(meta + kVietnamese), expected(meta + kVietnamese, "UTF-8", "detected"));
  // Pure ASCII bears any ASCII-compatible declaration.
  EXPECT_EQ(decode("<p>Only ASCII.</p>", "text/html; charset=windows-1252"),
            expected("<p>Only ASCII.</p>", "windows-1252", "header"));
}

TEST(FetchCharset, UndeclaredFrenchInWindows1252IsDetected) {
  const auto text = decode(to_windows_1252(kFrench), "text/html");
  EXPECT_EQ(text, expected(kFrench, "windows-1252", "detected"));
  for (const char* word : {"déclaré", "à la presse", "très", "reçu", "cœur", "« Nous", "préservé »", "500 €"}) {
    EXPECT_NE(text.utf8.find(word), std::string::npos) << word;
  }
}

TEST(FetchCharset, ShortUndeclaredLatinLeansToWindows1252) {
  // ICU alone ranks some of these as Romanian or Turkish, or has no guess at all; the commonest legacy
  // charset gets the benefit of the doubt. The first has no byte in 0x80-0x9F, so ICU says ISO-8859-1.
  for (const std::string french :
       {"Élève très doué, il préfère le français à l'économie. Ça va être génial, déjà vu.",
        "Le garçon a mangé une crêpe à la crème.", "Naïve café crème brûlée", "Café", "été", "Les œufs coûtent 3 €."}) {
    EXPECT_EQ(decode(to_windows_1252(french)), expected(french, "windows-1252", "detected"));
  }
}

TEST(FetchCharset, UndeclaredCyrillicIsNotForcedToWindows1252) {
  const std::string russian =
      "Правительство страны утвердило новую программу поддержки малого бизнеса в северных провинциях на "
      "ближайшие пять лет.";
  EXPECT_EQ(decode(to_windows_1251(russian)), expected(russian, "windows-1251", "detected"));
}

TEST(FetchCharset, Windows1258IsComposed) {
  // "Thủ đô Hà Nội" with the tones as combining marks, the way windows-1258 writes them.
  EXPECT_EQ(decode("Thu\xD2 \xF0\xF4 H\xE0 N\xF4\xF2i", "text/plain; charset=windows-1258"),
            expected("Thủ đô Hà Nội", "windows-1258", "header"));
}

TEST(FetchCharset, MostlyUtf8WithAStrayByteStaysUtf8) {
  const std::string body = kVietnamese + "\xFF" + kVietnamese;
  const std::string replaced = kVietnamese + "\xEF\xBF\xBD" + kVietnamese;
  EXPECT_EQ(decode(body, kHtmlUtf8), expected(replaced, "UTF-8", "header"));
  EXPECT_EQ(decode(body, "text/html"), expected(replaced, "UTF-8", "detected"));
}

TEST(FetchCharset, BodyCutInsideACharacterStaysUtf8) {
  // A byte limit cut "Nội" after its first two bytes; a short text has too few letters to outvote a stray byte.
  const std::string cut = "Hà N\xE1\xBB";
  EXPECT_EQ(decode(cut, kHtmlUtf8), expected("Hà N\xEF\xBF\xBD", "UTF-8", "header"));
  EXPECT_EQ(decode(cut), expected("Hà N\xEF\xBF\xBD", "UTF-8", "detected"));
}

TEST(FetchCharset, MetaUtf16MeansUtf8) {
  const std::string meta = "<meta charset=\"utf-16\">";
  EXPECT_EQ(decode(meta + kVietnamese), expected(meta + kVietnamese, "UTF-8", "meta"));
}

TEST(FetchCharset, UnknownLabelsFallThrough) {
  EXPECT_EQ(decode(kVietnamese, "text/html; charset=x-klingon"), expected(kVietnamese, "UTF-8", "detected"));
  EXPECT_EQ(decode(to_windows_1252(kFrench), "text/html; charset=x-klingon"),
            expected(kFrench, "windows-1252", "detected"));
}

TEST(FetchCharset, MalformedBytesInDeclaredMultiByteCharsetAreReplaced) {
  // Shift_JIS "日本" with a lead byte before a space, then one with nothing after it: U+FFFD both times, not
  // the U+001A control that ICU substitutes by default for this charset.
  EXPECT_EQ(decode("\x93\xFA\x81 \x96\x7B\x81", "text/plain; charset=shift_jis"),
            expected("日\xEF\xBF\xBD 本\xEF\xBF\xBD", "Shift_JIS", "header"));
}

TEST(FetchCharset, AnyBytesComeOutAsValidUtf8) {
  std::mt19937 random(20240607);
  std::uniform_int_distribution<int> byte(0, 255);
  const char* types[] = {"",
                         kHtmlUtf8.c_str(),
                         "text/html; charset=windows-1252",
                         "text/html; charset=utf-16",
                         "text/html; charset=x-unknown",
                         "text/html; charset=shift_jis"};
  for (int round = 0; round < 120; ++round) {
    std::string body(static_cast<std::size_t>(round * 7 % 300), '\0');
    for (char& c : body) c = static_cast<char>(byte(random));
    if (round % 3 == 0) body = "\xEF\xBB\xBF" + body;
    auto result = decode_to_utf8(body, types[round % std::size(types)]);
    ASSERT_TRUE(result.ok()) << result.error();
    EXPECT_TRUE(valid_utf8(result->utf8)) << "round " << round;
    EXPECT_FALSE(result->charset.empty()) << "round " << round;
  }
}

}  // namespace
}  // namespace vnawire::fetch
