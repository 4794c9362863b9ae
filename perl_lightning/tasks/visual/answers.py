"""VQA answers: the standard normalisation, VQA accuracy, and the short answer in a model's free-text reply.

:func:`normalize_answer` is the answer processing of the official VQAv2 evaluation (``vqaEval.py`` of
GT-Vision-Lab/VQA, ``processPunctuation`` then ``processDigitArticle``):

1. newlines and tabs become spaces; surrounding whitespace is stripped;
2. punctuation (``; / [ ] " { } ( ) = + \\ _ - > < @ ` , ? !``) is deleted when the text has it next to a space
   (``"red, blue"``) or has a digit-comma-digit (``"1,000"``), else replaced by a space (``"t-shirt"`` ->
   ``"t shirt"``); a period not followed by a digit is deleted (``"yes."`` -> ``"yes"``, ``"3.5"`` stays);
3. lower-case; number words ``none``/``zero``..``ten`` become digits; the articles ``a``, ``an``, ``the`` go; the
   official contractions table restores apostrophes (``"dont"`` -> ``"don't"``); words are joined by one space.

Two deliberate differences from the script, both documented where they apply: the script normalises only when the
ten annotator answers are not all identical (VQAv2's answers are already normalised, so nothing changes there), and
this module normalises always, both sides; and ``periodStrip.sub`` there passes ``re.UNICODE`` as the ``count``
argument (32 periods at most), here every such period goes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["CONTRACTIONS", "NUMBER_WORDS", "extract_answer", "normalize_answer", "vqa_accuracy"]

#: The contractions table of the official evaluation (its capitalised keys never match after lower-casing; kept as
#: published).
CONTRACTIONS: dict[str, str] = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't", "dont": "don't",
    "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't", "havent": "haven't",
    "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd", "howll": "how'll",
    "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm", "Ive": "I've", "isnt": "isn't", "itd": "it'd",
    "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've", "mustnt": "mustn't",
    "mustve": "must've", "neednt": "needn't", "notve": "not've", "oclock": "o'clock", "oughtnt": "oughtn't",
    "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've",
    "she'dve": "she'd've", "she's": "she's", "shouldve": "should've", "shouldnt": "shouldn't",
    "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd",
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've", "somebodyll": "somebody'll",
    "somebodys": "somebody's", "someoned": "someone'd", "someoned've": "someone'd've", "someone'dve": "someone'd've",
    "someonell": "someone'll", "someones": "someone's", "somethingd": "something'd",
    "somethingd've": "something'd've", "something'dve": "something'd've", "somethingll": "something'll",
    "thats": "that's", "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've", "they'dve": "they'd've",
    "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas", "wasnt": "wasn't",
    "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've", "werent": "weren't", "whatll": "what'll",
    "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've", "who'dve": "who'd've",
    "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll", "whyre": "why're", "whys": "why's",
    "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've",
    "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll",
    "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", "youd": "you'd",
    "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll", "youre": "you're", "youve": "you've",
}  # fmt: skip
#: Number words the official evaluation turns into digits (``manualMap``).
NUMBER_WORDS: dict[str, str] = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
_ARTICLES = frozenset({"a", "an", "the"})
_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")  # as published: in effect "a period not followed by a digit"
_COMMA_STRIP = re.compile(r"(\d)(,)(\d)")


def _punctuation(text: str) -> str:
    """The official ``processPunctuation`` (the conditions look at the input text, not the text being edited)."""
    out = text
    digit_comma = _COMMA_STRIP.search(text) is not None
    for p in _PUNCT:
        if p + " " in text or " " + p in text or digit_comma:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD_STRIP.sub("", out)


def _digits_articles(text: str) -> str:
    """The official ``processDigitArticle``: lower-case, number words to digits, no articles, contractions fixed."""
    words = [NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    words = [CONTRACTIONS.get(w, w) for w in words if w not in _ARTICLES]
    return " ".join(words)


def normalize_answer(text: str) -> str:
    """An answer in the official VQA evaluation's normal form (see the module docstring).

    Args:
        text: an annotator's answer or a model's short answer.

    Returns:
        The normalised answer, e.g. ``"Two."`` -> ``"2"``, ``"the Dont"`` -> ``"don't"``, ``"1,000"`` -> ``"1000"``.
    """
    text = text.replace("\n", " ").replace("\t", " ").strip()
    return _digits_articles(_punctuation(text))


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """The VQA accuracy of a predicted answer against the annotators' answers, both sides normalised.

    With ``n`` annotator answers of which ``m`` equal the prediction (after normalisation):

    - ``n == 1`` (a single-answer row): exact match, 1.0 or 0.0;
    - ``n >= 2``: the mean over the ``n`` leave-one-out subsets of ``min(matches in the subset / t, 1)`` with
      ``t = min(3, n - 1)``. For ``n >= 4`` (VQAv2's ten answers: the 10-choose-9 subsets) this is exactly the
      official ``min(#humans that said it / 3, 1)`` averaging; for ``n`` = 2 or 3 the threshold shrinks to ``n - 1``
      so that an answer all annotators agree on still scores 1 (the official formula would cap it at 1/3 or 2/3).

    Ten answers, three of them matching: 3 subsets hold 2 matches (2/3), 7 hold 3 (1): ``(3 * 2/3 + 7) / 10 = 0.9``.

    Args:
        prediction: the predicted short answer (see :func:`extract_answer` for free-text replies).
        answers: the annotators' answers (at least one).

    Raises:
        ValueError: no answers.
    """
    if not answers:
        raise ValueError("vqa_accuracy needs at least one annotator answer")
    predicted = normalize_answer(prediction)
    same = [normalize_answer(a) == predicted for a in answers]
    n, m = len(same), sum(same)
    if n == 1:
        return float(m)
    t = min(3, n - 1)
    return sum(min((m - hit) / t, 1.0) for hit in same) / n


_PREFIX = re.compile(r"^(?:(?:the\s+)?(?:final\s+|short\s+)?answer(?:\s+is)?\s*[:\-]?\s+|answer\s*:\s*)", re.I)
_QUOTES = "\"'`*“”‘’"
_COUNT = re.compile(r"^(\d+|zero|one|two|three|four|five|six|seven|eight|nine|ten)\s+[a-z]", re.I)
_YES_NO = re.compile(r"^(yes|no)\b(?:[\s,.;:!]|$)", re.I)


def extract_answer(text: str) -> str:
    """The short answer to score in a model's free-text reply; simple, predictable rules, applied in order:

    1. the first non-blank line, stripped of whitespace and of surrounding quotes or ``*`` (markdown bold);
    2. a leading ``"answer:"``, ``"the answer is"``, ``"the final answer is:"`` (any case) is removed;
    3. trailing periods and exclamation marks are removed (``"3.5."`` -> ``"3.5"``), quotes stripped again;
    4. a reply that starts with ``yes`` or ``no`` as a word (``"Yes, there is."``) becomes that word, lower-cased;
    5. a reply that starts with a count (digits or ``zero``..``ten``) followed by a word (``"Three circles"``)
       becomes the count, lower-cased; so ``"10 feet"`` becomes ``"10"`` too (a unit is lost; ``"3:00"`` stays).

    Anything else is returned as it stands; :func:`vqa_accuracy` normalises it (case, articles, number words).

    Args:
        text: the model's reply.

    Returns:
        The short answer (``""`` for a blank reply). ``"The answer is 3."`` -> ``"3"``; ``"three circles"`` ->
        ``"three"``; ``"Answer: red"`` -> ``"red"``.
    """
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    line = _PREFIX.sub("", line.strip(_QUOTES).strip()).strip()
    line = line.rstrip(".!").strip().strip(_QUOTES).strip()
    if match := _YES_NO.match(line) or _COUNT.match(line):
        return match.group(1).lower()
    return line
