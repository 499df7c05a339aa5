// Renders the formulas of each page with KaTeX (loaded before this script, from the site's own assets/katex/).
// pymdownx.arithmatex (generic mode) leaves every formula as the TeX between \( \) (inline, a span) or \[ \]
// (display, a div) inside an element of class "arithmatex"; each is replaced by KaTeX's rendering of its TeX.
// MkDocs Material's document$ announces every page load, including its instant navigation.
document$.subscribe(function () {
  document.querySelectorAll(".arithmatex").forEach(function (element) {
    var text = element.textContent.trim();
    var display = text.startsWith("\\[");
    var tex = text.slice(2, -2);
    katex.render(tex, element, { displayMode: display, throwOnError: true });
  });
});
