"""Text normalisation for matching: one `analyse()` turns a name into comparable tokens.

Steps, in order (design §4):

1. Unicode NFKC, casefold, combining marks stripped, `ё` → `е`, apostrophes in words made one.
2. Abbreviations expanded from the data files `data/abbreviations.<lang>.tsv`
   (`БДУ` → `без дополнительных уточнений`, `табл.` → `таблетки`, `NOS` → ...).
3. Numbers joined with their unit into one token from `data/units.tsv`, in a base unit
   (`500 мг` and `500 mg` → `500mg`; `0,5 %` → `0.5%`), so doses are compared.
4. Words reduced to a lemma: Russian through pymorphy3 (dictionary words
   only, so drug names are not mangled), English and German through a stemmer.
5. Each lemma gets a cross-script *key*: Russian words found in
   `data/glossary.ru.tsv` become their English word, other Cyrillic words are
   transliterated; then `translit.spelling_key()` folds spelling variants
   (`Клотримазол` and `clotrimazole` share the key `klotrimasol`).

Lemmas and keys are what the index stores and what the reranker compares.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from importlib import resources

from registry.matching.translit import has_cyrillic, spelling_key, transliterate

DATA_PACKAGE = "registry.matching.data"
_WORD = re.compile(r"[^\W\d_]+|\d+(?:\.\d+)?|%")
# A negating prefix written apart (`non-traumatic`, `non traumatic`, `не травматический`) is joined to
# its word, so that it reads as the one word `nontraumatic` and can never meet `traumatic` word for word.
# `non specified` stays apart: it is the qualifier `unspecified` (qualifiers.tsv), not a negated word.
_SPLIT_NEGATION = re.compile(r"(?<![^\W\d_])(non|не)[-\s]+(?!specified)(?=[^\W\d_]{3})")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
# An English possessive is no word of its own (`Crohn's disease` is `Crohn disease`).
_POSSESSIVE = re.compile(r"(?<=[a-z])\u02bcs(?![^\W\d_])")
# British `-our` at the end of a stem, before an ending too (`behavioural`, `favourable`, `tumours`).
_BRITISH_OUR = re.compile(r"(?<=\w{3})our(?=(?:s|al|ally|able|ably|ed|ing|ite|ites|less|ful)?$)")
# The number of a dose. Thousands separators: a space followed by a group of exactly three digits
# (`1 000 мг`, `2 500 000 ЕД`), or a comma after a leading group of 1-3 digits not starting with 0
# followed by exactly three digits (`1,000 mg`, `12,500 mg`). Any other comma is a decimal comma
# (`0,5 г`, `1,25 мг`, `0,500 г`).
NUMBER = (r"(?:(?P<spaced>\d{1,3}(?: \d{3})+(?:[.,]\d+)?)(?![\d,.])"
          r"|(?P<comma>[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?)(?![\d,.])"
          r"|(?P<plain>\d+(?:[.,]\d+)?))")


# The hand-written knowledge tables (every line with a source, see data/sources.tsv); the benchmark
# scores the matcher with and without them, so that what rests on them is seen.
HAND_WRITTEN = ("synonyms.tsv", "glossary.ru.tsv", "abbreviations.")
_settings = {"hand_written": True}


def hand_written_tables() -> bool:
    """Whether the hand-written knowledge tables are read (see `use_hand_written_tables`)."""
    return _settings["hand_written"]


def use_hand_written_tables(enabled: bool) -> None:
    """Read (or leave out) the hand-written knowledge tables from now on, and forget what was derived from them.

    For measuring what the tables carry (`bench/match.py`); the index fingerprint changes with it,
    so an index built one way is rebuilt the other.
    """
    _settings["hand_written"] = bool(enabled)
    for cached in (rules, phrase_rules, word_keys, stop_keys):
        cached.cache_clear()


def data_dir() -> Path:
    """The folder of the normalisation data files (tables, units, qualifiers, sources)."""
    return Path(__file__).resolve().parent / "data"


def read_table(name: str) -> list[tuple[str, ...]]:
    """The tab-separated fields of every line of a data file; `#` lines and blank lines are skipped."""
    path = resources.files(DATA_PACKAGE) / name
    if not path.is_file():
        return []
    return [tuple(field.strip() for field in line.split("\t"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def _read_tsv(name: str) -> list[tuple[str, str]]:
    """The (key, value) pairs of a data file, folded; a third field (the line's source) is not read here."""
    if not hand_written_tables() and name.startswith(HAND_WRITTEN):
        return []
    rows = []
    for fields in read_table(name):
        key, value = fields[0], fields[1] if len(fields) > 1 else ""
        if key and value:
            rows.append((basic_fold(key), basic_fold(value)))
    return rows


APOSTROPHE = "\u02bc"  # ʼ, a letter to the regular expressions, so `oʼzbek` stays one word
_APOSTROPHES = re.compile(r"(?<=[^\W\d_])['‘’ʻʼ`´ʹ′](?=[^\W\d_])")


def _strip_marks(text: str) -> str:
    """Text without the combining marks of non-Cyrillic letters (`é` → `e`, `i̇` → `i`; `й`, `ў` stay)."""
    out, cyrillic = [], False
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            if cyrillic:
                out.append(ch)
            continue
        cyrillic = "\u0400" <= ch <= "\u04ff"
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def basic_fold(text: str) -> str:
    """The first step for every text the matcher sees: NFKC, casefold, combining marks of Latin
    letters stripped (`İ` → `i`, `é` → `e`), `ё` → `е`, and every apostrophe inside a word (`o‘`, `o'`,
    `oʻ`, `o’`) written as one, so Uzbek `oʻzbek` is one word however it is typed.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = _strip_marks(text)
    return _APOSTROPHES.sub(APOSTROPHE, text).replace("ё", "е")


# Cyrillic letters that look like Latin ones (folded, so `в` stands for the capital В that looks like B).
_LOOK_ALIKES = dict(zip("авекмнорстухіјѕ", "abekmhopctyxijs"))
_LATIN_LOOK_ALIKES = {lat: cyr for cyr, lat in _LOOK_ALIKES.items()}
_ALNUM_RUN = re.compile(r"[^\W_]+")
# A capital Cyrillic look-alike standing alone after a lower-case word (and before a lower-case one or the end of
# a phrase), or before a hyphen, is a Latin letter typed in Cyrillic: a group, type or protein (`стрептококк
# группы В`, `гепатит С хронический`, `В-клеточная`, `С-реактивный`, `Т/NK`; a list of them: `А, С, Y, W-135`). Left
# alone: the prepositions `в`, `с`, `к`, `о`, which are lower case inside a name, start a sentence (`... кинжалом.
# В доме`) or stand among capitalised words (`ОТРАВЛЕНИЕ В ДОМЕ`, `Травма Глаза С Повреждением`); `Н` and `Р`,
# which are the letters N and R as often as look-alikes of H and P (`Н-холинорецепторы`); and a letter before a
# slash and a Cyrillic letter, as in the route abbreviations `В/в`, `В/м` (`Т/NK` is Latin).
_LETTER_DESIGNATION = re.compile(r"(?:(?<=[a-zа-яё] )|(?<=[a-zа-яё], )|(?<=\b[^\W\d_], ))([АВЕКМОСТХ])"
                                 r"(?=$|\s*[,.;:)\]]|\s+[a-zа-яё0-9])|\b([АВЕКМОСТХ])(?=-|/[A-Za-z])")
_LATIN_LETTER = re.compile(r"[a-z]")


def _fold_run(match: re.Match) -> str:
    run = match.group(0)
    cyrillic = [ch for ch in run if has_cyrillic(ch)]
    if not cyrillic:
        return run
    latin = _LATIN_LETTER.findall(run)
    code_like = any(ch.isdigit() for ch in run) and len(cyrillic) <= 3
    if all(ch in _LOOK_ALIKES for ch in cyrillic) and (len(latin) >= len(cyrillic) or (code_like and not latin)):
        return "".join(_LOOK_ALIKES.get(ch, ch) for ch in run)
    if latin and all(ch in _LATIN_LOOK_ALIKES for ch in latin):
        return "".join(_LATIN_LOOK_ALIKES.get(ch, ch) for ch in run)
    return run


def latin_letter_designations(text: str) -> str:
    """The text with single capital Cyrillic letters that name a group or type written in Latin (`группы В`)."""
    return _LETTER_DESIGNATION.sub(lambda m: _LOOK_ALIKES[(m.group(1) or m.group(2)).lower()].upper(), text)


def fold_look_alikes(text: str) -> str:
    """Folded text with look-alike letters of the other script put right in mixed words.

    A word of Latin letters with Cyrillic look-alikes among them (`pаracetamol` with a Cyrillic а), or
    a code of up to three look-alike Cyrillic letters and digits (`с50.1`, `в12`), is written in Latin;
    a Russian word with Latin look-alikes among its letters is written in Cyrillic.
    """
    return _ALNUM_RUN.sub(_fold_run, text)


@lru_cache(maxsize=200_000)
def fold_code(code: str) -> str:
    """A code as compared with another: folded, with every Cyrillic look-alike letter in Latin (`С50.1` = `C50.1`).

    Cached: a local code is compared with the code of every candidate of its name.
    """
    return "".join(_LOOK_ALIKES.get(ch, ch) for ch in basic_fold(str(code)).strip())


def abbreviation_languages() -> list[str]:
    """The languages that have an abbreviation file, e.g. ['de', 'en', 'ru']."""
    names = [p.name for p in resources.files(DATA_PACKAGE).iterdir()]
    return sorted(n.split(".")[1] for n in names if n.startswith("abbreviations.") and n.endswith(".tsv"))


@dataclass
class Rules:
    """Abbreviations, units and the glossary, loaded once from the data files."""

    abbreviations: dict[str, str]
    units: dict[str, str]
    glossary: dict[str, str]
    abbreviation_re: re.Pattern | None = field(default=None, repr=False)
    quantity_re: re.Pattern | None = field(default=None, repr=False)

    @classmethod
    def load(cls) -> "Rules":
        """Read every data file of the package."""
        abbreviations: dict[str, str] = {}
        for lang in abbreviation_languages():
            abbreviations.update(_read_tsv(f"abbreviations.{lang}.tsv"))
        rules = cls(abbreviations, dict(_read_tsv("units.tsv")), dict(_read_tsv("glossary.ru.tsv")))
        if abbreviations:
            alternatives = "|".join(re.escape(a) for a in sorted(abbreviations, key=len, reverse=True))
            rules.abbreviation_re = re.compile(rf"(?<![\w/.-])(?:{alternatives})(?![\w/-])")
        units = "|".join(re.escape(u) for u in sorted(rules.units, key=len, reverse=True))
        # A unit may be `per` another, with or without a number (`ЕД/мл`, `мг/кг`, `мг/5 мл`).
        rules.quantity_re = re.compile(rf"(?<![\w.,]){NUMBER}\s*(?P<unit>{units})"
                                       rf"(?:\s*/\s*(?P<per_number>\d+(?:[.,]\d+)?)?\s*(?P<per>{units}))?(?![\w/])")
        return rules


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The loaded rules (cached for the process)."""
    return Rules.load()


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3
    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=8)
def _stemmer(language: str):
    if language.startswith("en"):
        from whoosh.lang.porter import stem
        return stem
    if language.startswith("de"):
        from whoosh.lang import stemmer_for_language
        return stemmer_for_language("de")
    return None


# The endings of a Russian full adjective or participle, in any gender, number and case.
_ADJECTIVE_ENDING = re.compile(r"(?:ый|ий|ой|ая|яя|ое|ее|ые|ие|ого|его|ому|ему|ым|им|ых|их|ую|юю|ыми|ими|ом|ем)$")
# Endings an unknown noun has too (instrumental `кетоналом`, `хлоргексидином`): such a word is read as an
# adjective only if that is pymorphy3's best reading.
_NOUN_LIKE_ENDING = re.compile(r"(?:ом|ем|им|ым)$")
_ADJECTIVE = ("ADJF", "PRTF")


@lru_cache(maxsize=300_000)
def russian_lemma(word: str) -> str:
    """The dictionary form of a Russian word (`вирусом` → `вирус`).

    A word pymorphy3's dictionary does not know stays as it is (drug names are not to be mangled by a
    guess), unless it ends as an adjective does and pymorphy3 can read it as one: the terms of medicine
    are full of adjectives no dictionary lists (`неходжкинских`, `декубитальной`), and their endings
    are regular, so every form is put in the masculine singular nominative (`неходжкинский`), a
    participle's too (`интубированного`, `интубированных` → `интубированный`). An ending that an unknown
    noun's instrumental shares (`кетоналом`) counts only when the adjective is the best reading.
    """
    morph = _morph()
    if not morph.word_is_known(word):
        if len(word) >= 6 and _ADJECTIVE_ENDING.search(word):
            parses = morph.parse(word)
            if _NOUN_LIKE_ENDING.search(word) and parses[0].tag.POS not in _ADJECTIVE:
                return word
            for parse in parses:
                if parse.tag.POS == "ADJF":
                    return parse.normal_form.replace("ё", "е")
            for parse in parses:
                if parse.tag.POS == "PRTF":
                    form = parse.inflect({"masc", "sing", "nomn"})
                    return (form.word if form else parse.normal_form).replace("ё", "е")
        return word
    return morph.parse(word)[0].normal_form.replace("ё", "е")


@lru_cache(maxsize=300_000)
def latin_lemma(word: str, language: str) -> str:
    """A stemmed Latin word (`disorders` → `disord`); British `-our` spelt `-or` first."""
    if language.startswith("en") and len(word) >= 6:
        word = _BRITISH_OUR.sub("or", word)
    stem = _stemmer(language)
    return stem(word) if stem else word


# `anti-` written as a word of its own, in either script (`противопаркинсонический`, `antiparkinson`,
# `anti-Parkinson`), when what follows is a word in itself (five letters or more: `antigen` stays whole).
_ANTI = re.compile(r"^(?:anti|анти|противо)(?=[^\W\d_]{5})")
ANTI_KEY = "ant"  # the key the word `anti` gets


@lru_cache(maxsize=300_000)
def word_keys(lemma: str, language: str) -> tuple[str, ...]:
    """Cross-script keys of one lemma: glossary translation or transliteration, then the spelling key.

    A lemma the glossary does not know that starts with `anti-` is two keys: `anti` and the rest.
    """
    prefix = _ANTI.match(lemma)
    if prefix and (not has_cyrillic(lemma) or lemma not in rules().glossary):
        return (ANTI_KEY, *word_keys(lemma[prefix.end():], language))
    if not has_cyrillic(lemma):
        return (spelling_key(lemma.replace(APOSTROPHE, "")),)
    english = rules().glossary.get(lemma)
    if english:
        return tuple(k for w in english.split() for k in word_keys(latin_lemma(w, "en"), language))
    return (spelling_key(transliterate(lemma)),)


_ROMAN = re.compile(r"(?<!\w)(XX|XIX|XVIII|XVII|XVI|XV|XIV|XIII|XII|XI|IX|VIII|VII|VI|V|IV|III|II|I)(?!\w)")
_ROMAN_VALUES = {r: str(i) for i, r in enumerate(
    "I II III IV V VI VII VIII IX X XI XII XIII XIV XV XVI XVII XVIII XIX XX".split(), 1)}
QUALIFIER_CLASSES = ("other", "specified", "unspecified", "without", "elsewhere")


def roman_to_arabic(text: str) -> str:
    """Upper-case Roman numerals I-XX standing alone written in digits (`type I` → `type 1`, `Faktor-II-Mangel` →
    `Faktor-2-Mangel`, `стадия II` → `стадия 2`). A lone `X` is left alone (`fragile X`, `X-linked`).
    """
    return _ROMAN.sub(lambda m: _ROMAN_VALUES[m.group(1)], text)


@dataclass
class PhraseRules:
    """Key sequences rewritten after keying: synonyms (→ other keys) and qualifiers (→ a qualifier class).

    Loaded from `data/synonyms.tsv` and `data/qualifiers.tsv`; each phrase is analysed like any name,
    so an inflected or abbreviated form in a name meets it.
    """

    phrases: dict[tuple[str, ...], tuple[tuple[str, ...], str | None]]
    longest: int
    # The length of the longest phrase starting with each key, so that a word starting none is passed over.
    starts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        for phrase in self.phrases:
            self.starts[phrase[0]] = max(self.starts.get(phrase[0], 0), len(phrase))

    @classmethod
    def load(cls, language: str) -> "PhraseRules":
        """Analyse every phrase of both files, and each synonym's replacement, into key sequences.

        Both sides are analysed in `language`, the language the names being compared are analysed in,
        so that a replacement gets the very keys a name spelling it out gets (`сепсис` → `sepsis` in a
        Russian index, `sepsis` → `seps` in an English one).
        """
        phrases: dict[tuple[str, ...], tuple[tuple[str, ...], str | None]] = {}
        for phrase, replacement in _read_tsv("synonyms.tsv"):
            to = tuple(analyse(replacement, language, phrases=False).keys)
            phrases.setdefault(tuple(analyse(phrase, language, phrases=False).keys), (to, None))
        for phrase, klass in _read_tsv("qualifiers.tsv"):
            if klass != "-" and klass not in QUALIFIER_CLASSES:
                raise ValueError(f"qualifiers.tsv: {phrase!r} has class {klass!r}, not one of "
                                 f"{', '.join(QUALIFIER_CLASSES)} or -")
            qualifier = None if klass == "-" else klass
            phrases.setdefault(tuple(analyse(phrase, language, phrases=False).keys), ((), qualifier))
        phrases.pop((), None)
        rules = cls(phrases, max(map(len, phrases), default=0))
        # A replacement is read as a name would be, other phrases included (`monocular` → `one eye`, and `eye`
        # is itself read as `ophthalmological`), so it meets the names that spell it out.
        for key, (to, qualifier) in list(phrases.items()):
            if to:
                phrases[key] = (tuple(rules.apply(list(to))[0]), qualifier)
        return rules

    def apply(self, keys: list[str]) -> tuple[list[str], frozenset[str]]:
        """Keys with every known phrase rewritten (longest first, left to right), and the qualifiers found."""
        if not self.longest:
            return keys, frozenset()
        out: list[str] = []
        qualifiers: set[str] = set()
        starts = self.starts
        i = 0
        while i < len(keys):
            longest = starts.get(keys[i], 0)
            if not longest:  # most words start no phrase
                out.append(keys[i])
                i += 1
                continue
            for size in range(min(longest, len(keys) - i), 0, -1):
                found = self.phrases.get(tuple(keys[i:i + size]))
                if found is not None:
                    replacement, qualifier = found
                    out.extend(replacement)
                    if qualifier:
                        qualifiers.add(qualifier)
                    i += size
                    break
            else:
                out.append(keys[i])
                i += 1
        return out, frozenset(qualifiers)


@lru_cache(maxsize=8)
def phrase_rules(language: str) -> PhraseRules:
    """The synonym and qualifier phrases analysed for `language` (cached for the process)."""
    return PhraseRules.load(language)


# Function words: a name made of nothing else says nothing to match on (see `only_stop_words`).
STOP_WORDS = (
    "an the of and or nor in on at to for by from with as not no is are be its "
    "и или в во на с со по для от до из при к у о об не ни а но же ли то как "
    "der die das des dem den ein eine einer eines einem und oder mit von vom im in am an bei für zu zur zum nicht"
).split()


@lru_cache(maxsize=8)
def stop_keys(language: str) -> frozenset[str]:
    """The keys that the function words of every language get in `language`."""
    return frozenset(k for word in STOP_WORDS for k in analyse(word, language, phrases=False).keys)


def only_stop_words(analysis: "Analysis", language: str) -> bool:
    """Whether a name has no keys but those of function words (`of the`, `и`, `und der`)."""
    return bool(analysis.keys) and set(analysis.keys) <= stop_keys(language)


@dataclass
class Analysis:
    """A normalised name: lemmas (same language), keys (cross-script), quantities (`500mg`) and qualifiers.

    Qualifiers (`other`, `specified`, `unspecified`, `without`) are taken out of the keys: they tell a parent from its
    children (`Other X`, `X, unspecified`) and are compared on their own by the reranker.
    """

    text: str
    lemmas: list[str]
    keys: list[str]
    quantities: frozenset[str]
    qualifiers: frozenset[str] = frozenset()

    @property
    def lemma_text(self) -> str:
        """The lemmas joined by spaces, for string similarity."""
        return " ".join(self.lemmas)

    @cached_property
    def key_text(self) -> str:
        """The keys joined by spaces, for cross-script string similarity (kept: a query meets many names)."""
        return " ".join(self.keys)


def expand_abbreviations(text: str) -> str:
    """Folded text with every known abbreviation replaced by its expansion."""
    r = rules()
    if r.abbreviation_re is None:
        return text
    return r.abbreviation_re.sub(lambda m: r.abbreviations[m.group(0)], text)


def quantity_number(match: re.Match) -> Decimal:
    """The number of a `quantity_re` match, thousands separators read (see NUMBER)."""
    if match.group("spaced"):
        number = match.group("spaced").replace(" ", "").replace(",", ".")
    elif match.group("comma"):
        number = match.group("comma").replace(",", "")
    else:
        number = match.group("plain").replace(",", ".")
    return Decimal(number)


def format_number(number: Decimal) -> str:
    """A number written without exponent, trailing zeros or a trailing dot (`1.500` → `1.5`, `1E+3` → `1000`)."""
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# Units compared in a base unit: mass in mg, volume in ml, amount of substance in mmol.
UNIT_FACTORS: dict[str, tuple[str, Decimal]] = {
    "mg": ("mg", Decimal(1)), "g": ("mg", Decimal(1000)), "kg": ("mg", Decimal(1_000_000)),
    "mcg": ("mg", Decimal("0.001")), "ng": ("mg", Decimal("0.000001")),
    "ml": ("ml", Decimal(1)), "l": ("ml", Decimal(1000)), "mcl": ("ml", Decimal("0.001")),
    "mmol": ("mmol", Decimal(1)), "mol": ("mmol", Decimal(1000)),
}


def to_base_unit(number: Decimal, unit: str) -> tuple[Decimal, str]:
    """A quantity in its base unit: (0.5, "g") → (500, "mg"), (500, "mcg/ml") → (0.5, "mg/ml").

    A concentration converts its numerator only, in the denominator's unit; units without a
    factor (`%`, `iu`, `mmol/l`'s litre) are kept as they are.
    """
    numerator, slash, denominator = unit.partition("/")
    base, factor = UNIT_FACTORS.get(numerator, (numerator, Decimal(1)))
    return number * factor, base + slash + denominator


def _quantity(match: re.Match) -> str:
    unit = rules().units[match.group("unit")]
    if match.group("per"):
        per_number = match.group("per_number")
        per = format_number(Decimal(per_number.replace(",", "."))) if per_number else "1"
        per = "" if per == "1" else per  # `мг/1 мл` is `мг/мл`
        unit = f"{unit}/{per}{rules().units[match.group('per')]}"
    number, unit = to_base_unit(quantity_number(match), unit)
    return f" {format_number(number)}{unit} "


def analyse(text: str, language: str = "en", phrases: bool = True) -> Analysis:
    """Normalise a name into lemmas, keys, quantity tokens and qualifiers (see the module docstring).

    `language` picks the stemmer for Latin words (en, de; others are only folded);
    Cyrillic words are always lemmatised as Russian. `phrases=False` leaves out the
    synonym and qualifier rewriting (used to analyse those phrases themselves).
    """
    folded = _POSSESSIVE.sub("", fold_look_alikes(basic_fold(latin_letter_designations(roman_to_arabic(text or "")))))
    folded = _SPLIT_NEGATION.sub(r"\1", expand_abbreviations(folded))
    quantities: list[str] = []

    def keep(match: re.Match) -> str:
        token = _quantity(match)
        quantities.append(token.strip())
        return f" \x00{len(quantities) - 1} "

    folded = rules().quantity_re.sub(keep, folded)
    lemmas: list[str] = []
    keys: list[str] = []
    for chunk in folded.split():
        if chunk.startswith("\x00"):
            token = quantities[int(chunk[1:])]
            lemmas.append(token)
            keys.append(token)
            continue
        for word in _WORD.findall(_LETTER_DIGIT.sub(" ", chunk)):
            if word.isdigit() or word == "%":
                lemma = word
                keys.append(word)
            elif has_cyrillic(word):
                lemma = russian_lemma(word)
                keys.extend(word_keys(lemma, language))
            else:
                lemma = latin_lemma(word, language)
                keys.extend(word_keys(lemma, language))
            lemmas.append(lemma)
    qualifiers: frozenset[str] = frozenset()
    if phrases:
        keys, qualifiers = phrase_rules(language).apply(keys)
    return Analysis(text, lemmas, keys, frozenset(quantities), qualifiers)
