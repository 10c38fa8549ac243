// The two extraction speeds on one core: HTML pages/s on a ~60 KB news page and text
// dispatches/s on a dispatch of typical length, with libxml2's parse alone as the reference.
//
// Both inputs are generated here (the words are this file's own), so the figures do not depend on
// any data set: the page has a head full of meta tags and JSON-LD, a 90-link menu, an article of
// paragraphs (some left unclosed) with a figure and an ad slot, a sidebar, related links, a footer
// and trailing scripts, like the pages the fetch stage brings in. docs/extract.md has the figures.
#include <benchmark/benchmark.h>

#include <libxml/HTMLparser.h>

#include <string>
#include <vector>

#include "stages/extract/extract_article.h"

namespace {

// A deterministic French sentence of 12 to 30 words from a small vocabulary: prose with commas.
class Prose {
 public:
  std::string sentence() {
    static const std::vector<std::string> kWords = {
        "le",          "gouvernement", "a",          "présenté",  "mardi",    "un",        "programme",  "de",
        "coopération", "avec",         "les",        "provinces", "du",       "delta",     "pour",       "la",
        "période",     "à",            "venir",      "selon",     "ministre", "des",       "transports", "qui",
        "rappelle",    "que",          "entreprises", "locales",  "ont",      "investi",   "dans",       "ports",
        "routes",      "et",           "réseaux",    "électriques", "depuis", "plusieurs", "années",     "tandis",
        "exportations", "agricoles",   "progressent", "nettement", "cette",   "saison",    "malgré",     "pluies"};
    const int n = 12 + static_cast<int>(next() % 19);
    std::string s;
    for (int i = 0; i < n; ++i) {
      std::string w = kWords[next() % kWords.size()];
      if (i == 0) w[0] = static_cast<char>(w[0] - 'a' + 'A');
      if (!s.empty()) s += (next() % 9 == 0) ? ", " : " ";
      s += w;
    }
    return s + ".";
  }
  std::string paragraph(int sentences) {
    std::string p;
    for (int i = 0; i < sentences; ++i) p += (i ? " " : "") + sentence();
    return p;
  }

 private:
  unsigned next() { return state_ = state_ * 1103515245u + 12345u, (state_ >> 8) & 0xFFFFFF; }
  unsigned state_ = 7;
};

std::string links(const std::string& cls, int count, const std::string& stem) {
  std::string out = "<ul class=\"" + cls + "\">";
  for (int i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    out += "<li><a href=\"/" + stem + "/" + n + ".html\">Rubrique " + stem + " numéro " + n + "</a></li>\n";
  }
  return out + "</ul>\n";
}

// A news page of about 60 KB (the article body is about 9 KB of it, as on most news sites).
std::string news_page() {
  Prose prose;
  std::string h =
      "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Le delta mise sur ses ports | Le "
      "Quotidien</title>\n<meta property=\"og:title\" content=\"Le delta mise sur ses ports\">"
      "<meta property=\"og:site_name\" content=\"Le Quotidien\"><meta property=\"og:type\" content=\"article\">"
      "<meta property=\"og:url\" content=\"https://quotidien.example/eco/delta-ports.html\">"
      "<meta property=\"og:image\" content=\"https://quotidien.example/img/port.jpg\">"
      "<meta property=\"article:published_time\" content=\"2026-11-24T08:30:00+07:00\">"
      "<meta property=\"article:section\" content=\"Économie\"><meta name=\"description\" content=\"" +
      prose.sentence() +
      "\"><meta name=\"viewport\" content=\"width=device-width\">"
      "<link rel=\"canonical\" href=\"https://quotidien.example/eco/delta-ports.html\">\n"
      "<script type=\"application/ld+json\">{\"@context\":\"https://schema.org\",\"@type\":\"NewsArticle\","
      "\"headline\":\"Le delta mise sur ses ports\",\"datePublished\":\"2026-11-24T08:30:00+07:00\","
      "\"author\":{\"@type\":\"Person\",\"name\":\"Claire Martin\"},\"keywords\":\"ports, delta, export\"}</script>\n"
      "<style>body{font-family:sans-serif}.nav li{display:inline}.ad{min-height:250px}</style>\n<script>";
  for (int i = 0; i < 60; ++i) h += "window.cfg" + std::to_string(i) + "={slot:" + std::to_string(i) + ",lazy:true};\n";
  h += "</script></head>\n<body class=\"page article-page\"><header class=\"site-header\"><div class=\"logo\">Le "
       "Quotidien</div><nav class=\"nav\">" +
       links("menu", 90, "rubrique") + "</nav></header>\n";
  h += "<main><div class=\"layout\"><article class=\"story\"><h1>Le delta mise sur ses ports</h1>"
       "<p class=\"byline\">Par <a rel=\"author\" href=\"/auteurs/cmartin\">Claire Martin</a>, <time datetime="
       "\"2026-11-24T08:30:00+07:00\">24 novembre 2026</time></p>\n<figure><img src=\"/img/port.jpg\" alt=\"\">"
       "<figcaption>" + prose.sentence() + "</figcaption></figure>\n<div class=\"story-body\">";
  for (int i = 0; i < 16; ++i) {
    h += "<p>" + prose.paragraph(3) + (i % 4 == 3 ? "\n" : "</p>\n");  // some left open, as CMSs do
    if (i == 7) h += "<div class=\"ad\"><script>show_ad('mid');</script></div>\n";
    if (i == 10) h += "<h2>" + prose.sentence() + "</h2>\n";
  }
  h += "</div><div class=\"tags\"><a href=\"/t/ports\">ports</a> <a href=\"/t/delta\">delta</a></div>"
       "<div class=\"share-tools\"><a href=\"#\">Partager</a> <a href=\"#\">Imprimer</a></div></article>\n";
  h += "<aside class=\"sidebar\"><h3>Les plus lus</h3>" + links("popular", 20, "populaire") + "</aside>\n";
  h += "<section class=\"related\"><h3>Sur le même sujet</h3><ul>";
  for (int i = 0; i < 8; ++i) {
    h += "<li><a href=\"/eco/sujet-" + std::to_string(i) + ".html\">" + prose.sentence() + "</a><p>" +
         prose.sentence() + "</p></li>\n";
  }
  h += "</ul></section></div></main>\n<footer class=\"site-footer\">" + links("footer-links", 48, "service") +
       "<p>© 2026 Le Quotidien</p></footer>\n<script>";
  while (h.size() < 60 * 1024 - 40) h += "var t=Date.now();track('view',{p:location.pathname,t:t});\n";
  return h + "</script></body></html>\n";
}

// A dispatch in the layout the text extractor reads: title, lead, image line and caption, dateline,
// paragraphs, signature, then the related items: about 2.5 KB like most dispatches, or at least
// `min_bytes` (more paragraphs) for the 4 KB figure.
std::string text_dispatch(std::size_t min_bytes = 0) {
  Prose prose;
  const std::string title = "Le delta mise sur ses ports pour ses exportations";
  std::string t = title + "\n\n" + prose.paragraph(2) + "\n" + title + " ảnh 1\n\n" + prose.sentence() +
                  " Photo: VNA\n\nHanoï (VNA) – " + prose.paragraph(2) + "\n\n";
  for (int i = 0; i < 5 || t.size() + 900 < min_bytes; ++i) t += prose.paragraph(2) + "\n\n";
  t += prose.sentence() + " -VNA\n\nVoir plus\n\n";
  for (int i = 0; i < 3; ++i) t += "Les ports du delta, numéro " + std::to_string(i) + "\n\n" + prose.sentence() + "\n\n";
  return t;
}

void BM_ExtractHtmlPage60K(benchmark::State& state) {
  const std::string page = news_page();
  for (auto _ : state) {
    auto a = vnawire::extract::extract_html_page(page, "https://quotidien.example/eco/delta-ports.html");
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * page.size()));
  state.counters["page_bytes"] = static_cast<double>(page.size());
}

// The reference: libxml2's forgiving parse of the same page, with the options the extractor uses.
void BM_Libxml2ParseOnly60K(benchmark::State& state) {
  const std::string page = news_page();
  xmlInitParser();
  const int options =
      HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET | HTML_PARSE_COMPACT;
  for (auto _ : state) {
    xmlDoc* doc = htmlReadMemory(page.data(), static_cast<int>(page.size()), nullptr, "UTF-8", options);
    benchmark::DoNotOptimize(doc);
    xmlFreeDoc(doc);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * page.size()));
}

// range(0): the dispatch's least size in bytes (0: the typical 2.5 KB one).
void BM_ExtractTextDispatch(benchmark::State& state) {
  const std::string text = text_dispatch(static_cast<std::size_t>(state.range(0)));
  vnawire::extract::extract_text_dispatch(text);  // loads the dictionaries outside the clock
  for (auto _ : state) {
    auto a = vnawire::extract::extract_text_dispatch(text);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["dispatch_bytes"] = static_cast<double>(text.size());
}

BENCHMARK(BM_ExtractHtmlPage60K);
BENCHMARK(BM_Libxml2ParseOnly60K);
BENCHMARK(BM_ExtractTextDispatch)->Arg(0)->Arg(4096);

}  // namespace

BENCHMARK_MAIN();
