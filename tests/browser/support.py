"""What every real-browser journey uses: page checks, sign-in, language switching.

A journey calls ``check_page(page, "name")`` on every page it visits. That runs, in the
page's current language:

* ``assert_accessible``: axe-core with the WCAG 2.0/2.1 A and AA rules; zero violations.
* ``assert_references_resolve``: labels, descriptions and in-page links point to an element.
* ``assert_single_language``: no user-facing text from the other language's catalogue
  (English msgids on a Norwegian page, Norwegian translations on an English page), and
  enough of this language's catalogue on the page that the check cannot pass vacuously.
* ``save_screenshots``: desktop (1280×800) and phone (390×844) screenshots under
  ``artifacts/screenshots/`` (not committed), and no sideways scrolling at phone width.

Journeys run once per language (``@pytest.mark.parametrize("lang", LANGUAGES)``) so that
every page is checked in both nb and en.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_PATH = os.environ.get("SAMSKAP_CHROMIUM_PATH", "/usr/bin/chromium")  # Debian's package
AXE_PATH = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LANGUAGES = ("nb", "en")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

DEMO_PASSWORD = "samskap-demo"
DEMO_ACCOUNTS = {  # README: demo accounts
    "admin": ("admin@samskap.test", "Ada Administrator"),
    "staff": ("staff@samskap.test", "Sindre Stab"),
    "contact": ("kommune@samskap.test", "Kari Kommune"),
    "hospital": ("sykehus@samskap.test", "Henrik Helse"),
    "company": ("bedrift@samskap.test", "Berit Bedrift"),
    "academia": ("ntnu@samskap.test", "Aksel Akademia"),
}


# --- errors the browser reports --------------------------------------------------------------

def watch_for_page_errors(page) -> list[str]:
    """Collect uncaught script errors, console errors (CSP violations show up there) and
    failed sub-resources (styles, scripts, images). A page itself may answer 4xx: error
    pages and forms with errors do, on purpose."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"{page.url}: uncaught {error}"))

    def on_console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"{page.url}: console error: {message.text}")

    def on_response(response):
        if response.status >= 400 and response.request.resource_type != "document":
            problems.append(f"{page.url}: {response.request.resource_type} {response.url} answered {response.status}")

    page.on("console", on_console)
    page.on("response", on_response)
    return problems


# --- accessibility -----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _axe_source() -> str:
    return AXE_PATH.read_text(encoding="utf-8")


def inject_axe(page) -> None:
    """Load axe-core into the page.

    The app's Content-Security-Policy forbids inline scripts, and ``add_script_tag``
    injects an inline ``<script>``, which the policy (rightly) blocks. Evaluating the
    file through the DevTools protocol is not subject to the page's policy, so the
    policy stays on for the whole test and a page that breaks it still fails.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source() + "\n;undefined")


def axe_violations(page, tags=AXE_TAGS) -> list[dict]:
    inject_axe(page)
    result = page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                     resultTypes: ['violations']});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.map(t => Array.isArray(t) ? t.join(' ') : t),
                                          html: n.html, summary: n.failureSummary})),
            }));
        }""",
        tags,
    )
    return result


def format_violations(violations: list[dict], where: str) -> str:
    lines = [f"{len(violations)} accessibility violation(s) (WCAG 2.1 A/AA, axe-core) on {where}:"]
    for v in violations:
        lines.append(f"- {v['id']} [{v['impact']}]: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            lines.append(f"    at {', '.join(node['target'])}: {node['html'][:160]}")
            if node.get("summary"):
                lines.extend("      " + s for s in node["summary"].splitlines()[:4])
        if len(v["nodes"]) > 8:
            lines.append(f"    … and {len(v['nodes']) - 8} more element(s)")
    return "\n".join(lines)


def assert_accessible(page, where: str | None = None) -> None:
    """Zero axe-core violations of the WCAG 2.0/2.1 A and AA rules on the page as it is now."""
    violations = axe_violations(page)
    assert not violations, format_violations(violations, where or page.url)


def assert_references_resolve(page, where: str | None = None) -> None:
    """Every id that a label, a description or an in-page link points to exists, once.
    (axe accepts a description that points partly nowhere; a hint that was never
    rendered then goes unnoticed.)"""
    broken = page.evaluate("""() => {
        const problems = [];
        const check = (el, attr, ids) => { for (const id of ids) {
            const n = document.querySelectorAll(`[id="${CSS.escape(id)}"]`).length;
            if (n !== 1) problems.push(`${el.tagName.toLowerCase()}[${attr}] -> #${id} (${n} elements)`); } };
        for (const el of document.querySelectorAll('[aria-describedby], [aria-labelledby], [aria-controls]'))
            for (const attr of ['aria-describedby', 'aria-labelledby', 'aria-controls'])
                if (el.hasAttribute(attr)) check(el, attr, el.getAttribute(attr).split(/\\s+/).filter(Boolean));
        for (const el of document.querySelectorAll('label[for]')) check(el, 'for', [el.htmlFor]);
        for (const el of document.querySelectorAll('a[href^="#"]')) {
            const id = decodeURIComponent(el.getAttribute('href').slice(1)); if (id) check(el, 'href', [id]); }
        return problems;
    }""")
    assert not broken, f"references to missing or repeated ids on {where or page.url}:\n  " + "\n  ".join(broken)


# --- one language per page ---------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]")
_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class Phrase:
    text: str
    whole: re.Pattern       # matches a whole text segment (placeholders match anything)
    fragments: tuple        # multi-word literal parts, searched inside longer texts


def _phrase(text: str) -> Phrase | None:
    text = " ".join(text.split())
    parts = _PLACEHOLDER.split(text.replace("%%", "%"))
    if not _WORD.search(" ".join(parts)):
        return None  # nothing but placeholders and punctuation: it would match any text
    whole = re.compile(".+?".join(re.escape(p) for p in parts), re.DOTALL)
    fragments = []
    for part in parts:
        part = part.strip(" ,.:;()«»'\"–-")
        if len(_WORD.findall(part)) >= 2:  # single words only count as a whole text: no false alarms
            fragments.append(re.compile(r"(?<!\w)" + re.escape(part) + r"(?!\w)"))
    return Phrase(text, whole, tuple(fragments))


def _word(word: str) -> Phrase:
    """A single word that is wrong anywhere in a text (case-sensitive, whole words only)."""
    pattern = re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)")
    return Phrase(word, pattern, (pattern,))


# Dates must be written in the page's language. English names that are no Norwegian word (not
# "Fri", "Jan", "Sat", "Sep"), and Norwegian ones that are no English word, as written by Babel.
ENGLISH_DATE_WORDS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
                      "Mon", "Tue", "Wed", "Thu", "Sun", "January", "February", "March", "April", "May",
                      "June", "July", "August", "October", "December", "Feb", "Mar", "Apr", "Jun", "Aug",
                      "Oct", "Nov", "Dec", "AM", "PM")
NORWEGIAN_DATE_WORDS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag", "januar",
                        "februar", "mars", "mai", "juni", "juli", "oktober", "desember", "man.", "tir.",
                        "ons.", "tor.", "fre.", "lør.", "søn.", "des.", "okt.", "kl.")


@dataclass(frozen=True)
class Catalogue:
    english: tuple      # phrases that must not appear on a Norwegian page
    norwegian: tuple    # phrases that must not appear on an English page

    def foreign_to(self, lang: str) -> tuple:
        return self.english if lang == "nb" else self.norwegian

    def own(self, lang: str) -> tuple:
        return self.norwegian if lang == "nb" else self.english


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """English msgids and their nb translations from every area's catalogue.

    Only messages whose two languages differ count; a string that is also a message
    of the other language (e.g. "Status") is allowed in both."""
    from babel.messages.pofile import read_po

    pairs = []
    for po in sorted(ROOT.glob("translations/*/nb/LC_MESSAGES/messages.po")):
        with po.open("rb") as handle:
            for message in read_po(handle):
                ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
                strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
                for msgid, msgstr in zip(ids, strings):
                    if msgid and msgstr:
                        pairs.append((" ".join(msgid.split()), " ".join(msgstr.split())))
    english = {en for en, nb in pairs}
    norwegian = {nb for en, nb in pairs}
    foreign_in_nb = sorted({en for en, nb in pairs if en != nb} - norwegian)
    foreign_in_en = sorted({nb for en, nb in pairs if en != nb} - english)
    def phrases(texts, words):
        return tuple(p for p in map(_phrase, texts) if p is not None) + tuple(_word(w) for w in words)

    return Catalogue(phrases(foreign_in_nb, ENGLISH_DATE_WORDS), phrases(foreign_in_en, NORWEGIAN_DATE_WORDS))


_TEXTS_JS = """() => {
  const pageLang = (document.documentElement.getAttribute('lang') || '').toLowerCase();
  const langOf = (el) => ((el.closest('[lang]') || document.documentElement).getAttribute('lang') || '').toLowerCase();
  const shown = (el) => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  const out = [];
  for (const part of document.title.split(' – ')) out.push({text: part, lang: pageLang, where: 'title'});
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (!text || !el || el.closest('script, style, noscript, template, code, pre')) continue;
    if (!shown(el)) continue;
    out.push({text, lang: langOf(el), where: el.tagName.toLowerCase()});
  }
  const attrs = ['aria-label', 'placeholder', 'title', 'alt'];
  for (const el of document.body.querySelectorAll('[aria-label], [placeholder], [title], img[alt], input[type=submit], input[type=button]')) {
    for (const a of attrs) if (el.hasAttribute(a)) out.push({text: el.getAttribute(a).trim(), lang: langOf(el), where: `${el.tagName.toLowerCase()}[${a}]`});
    if (el.matches('input[type=submit], input[type=button]')) out.push({text: el.value.trim(), lang: langOf(el), where: 'input[value]'});
  }
  return {pageLang, texts: out.filter(t => t.text)};
}"""


def visible_texts(page) -> tuple[str, list[dict]]:
    """The page's language and every user-facing text on it (visible text, the title, and
    labels meant for screen readers), each with the language of its element."""
    found = page.evaluate(_TEXTS_JS)
    return found["pageLang"], found["texts"]


def find_phrases(texts: list[dict], phrases) -> list[tuple[str, str]]:
    """(phrase, text it was found in) for every phrase that occurs in the texts."""
    hits = []
    for phrase in phrases:
        for t in texts:
            text = t["text"]
            if phrase.whole.fullmatch(text) or any(f.search(text) for f in phrase.fragments):
                hits.append((phrase.text, f"{t['where']}: {text[:120]}"))
                break
    return hits


MIN_OWN_LANGUAGE_TEXTS = 3


def language_problems(page, lang: str) -> tuple[list, list]:
    """(foreign phrases found, own-language phrases found) on the page, judged as ``lang``."""
    page_lang, texts = visible_texts(page)
    assert page_lang == lang, f"the page says lang={page_lang!r}, expected {lang!r}"
    same_language = [t for t in texts if t["lang"].split("-")[0] == lang]
    cat = catalogue()
    return find_phrases(same_language, cat.foreign_to(lang)), find_phrases(same_language, cat.own(lang))


def assert_single_language(page, lang: str, where: str | None = None) -> None:
    """No text of the other language on the page (parts marked with their own ``lang``
    attribute, such as the language switch button, are exempt), and at least a few
    texts of this language recognised, which shows the check looked at real text."""
    foreign, own = language_problems(page, lang)
    other = "English" if lang == "nb" else "Norwegian"
    assert not foreign, f"{other} text on the {lang} page {where or page.url}:\n" + "\n".join(
        f"  {phrase!r} in {text!r}" for phrase, text in foreign)
    assert len(own) >= MIN_OWN_LANGUAGE_TEXTS, (
        f"only {len(own)} texts from the {lang} catalogue recognised on {where or page.url} "
        f"({own}); the language check would be vacuous")


# --- screenshots and small screens ---------------------------------------------------------------

def save_screenshots(page, name: str) -> list[Path]:
    """Full-page screenshots at desktop and phone width; at neither width may anything stick
    out sideways (WCAG 1.4.10 reflow; wide tables scroll inside their own box). Leaves the
    page at desktop width."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lang = page.evaluate("() => document.documentElement.lang")
    paths = []
    # Chromium swallows the next click after a screenshot taken while a number field has
    # focus; take them unfocused and give the focus back, so the journey goes on as before.
    page.evaluate("() => { window.__focusBeforeScreenshots = document.activeElement; document.activeElement?.blur(); }")
    try:
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            overflow = page.evaluate(
                """() => {
                    const width = document.documentElement.clientWidth;
                    const wide = [...document.body.querySelectorAll('*')].filter(el => {
                      const r = el.getBoundingClientRect();
                      return r.width > 0 && r.right > width + 1 && !el.closest('.table-scroll, .visually-hidden, .skip-link');
                    }).slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                                          (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
                    return {scroll: document.documentElement.scrollWidth, width, wide};
                }"""
            )
            assert overflow["scroll"] <= overflow["width"] and not overflow["wide"], (
                f"{name} ({lang}) scrolls sideways at {size['width']} px: page is {overflow['scroll']} px wide; "
                f"too wide: {overflow['wide']}")
            path = ARTIFACTS / f"{name}-{lang}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
    finally:
        page.set_viewport_size(DESKTOP)
        page.evaluate("() => { const el = window.__focusBeforeScreenshots; delete window.__focusBeforeScreenshots; "
                      "if (el && el !== document.body) el.focus({preventScroll: true}); }")
    return paths


def check_page(page, name: str, lang: str | None = None) -> None:
    """Everything a journey checks on each page it visits (see the module docstring)."""
    lang = lang or current_language(page)
    where = f"{name} ({lang}, {page.url})"
    assert_accessible(page, where)
    assert_references_resolve(page, where)
    assert_single_language(page, lang, where)
    save_screenshots(page, name)


# --- user actions --------------------------------------------------------------------------------

def current_language(page) -> str:
    return page.evaluate("() => document.documentElement.lang")


def switch_language(page, lang: str) -> None:
    """Use the language button in the header (a real form post) until the page is in ``lang``."""
    if current_language(page) == lang:
        return
    with page.expect_navigation():
        page.locator(f".lang-form button[value='{lang}']").click()
    assert current_language(page) == lang


def sign_in(page, email: str, password: str = DEMO_PASSWORD, lang: str | None = None) -> None:
    """Sign in through the form; then, if asked, switch to ``lang`` (a signed-in user's saved
    language wins over the one chosen before signing in)."""
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("header .user-link").count() == 1, f"sign-in as {email} failed: {page.url}"
    if lang:
        switch_language(page, lang)


def sign_out(page) -> None:
    with page.expect_navigation():
        page.locator("header form[action$='/logout'] button").click()


def flash_texts(page) -> list[str]:
    return [t.strip() for t in page.locator(".flashes .flash").all_inner_texts()]


def nav_labels(page) -> list[str]:
    return [t.strip() for t in page.locator("header nav a").all_inner_texts()]


def debug_dump(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
