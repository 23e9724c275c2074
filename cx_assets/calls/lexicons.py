"""The calls rules' default lexicons (contract section 4.2): the conversion phrases, upsell
words, positive and negative words, the negations that are never sentiment words, and the
contractions the cleaning expands. `CallsRules` takes them as its defaults; each can be
configured there.
"""

from __future__ import annotations

from collections.abc import Mapping

# Contractions expanded by the cleaning, after lower-casing (keys are lower case, ASCII
# apostrophe; curly apostrophes are normalised first). Only these forms are expanded: a
# possessive `'s` ("the customer's phone") is left alone, and so is an ambiguous `'d`/`'s`
# beyond this list. `it's` and `that's` read as "is", `I'd` as "would".
DEFAULT_CONTRACTIONS: Mapping[str, str] = {
    "i'm": "i am",
    "i'll": "i will",
    "i've": "i have",
    "i'd": "i would",
    "you're": "you are",
    "you'll": "you will",
    "you've": "you have",
    "you'd": "you would",
    "he's": "he is",
    "he'll": "he will",
    "he'd": "he would",
    "she's": "she is",
    "she'll": "she will",
    "she'd": "she would",
    "it's": "it is",
    "it'll": "it will",
    "we're": "we are",
    "we'll": "we will",
    "we've": "we have",
    "we'd": "we would",
    "they're": "they are",
    "they'll": "they will",
    "they've": "they have",
    "they'd": "they would",
    "that's": "that is",
    "that'll": "that will",
    "there's": "there is",
    "here's": "here is",
    "what's": "what is",
    "where's": "where is",
    "who's": "who is",
    "how's": "how is",
    "let's": "let us",
    "y'all": "you all",
    "can't": "cannot",
    "won't": "will not",
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "isn't": "is not",
    "aren't": "are not",
    "wasn't": "was not",
    "weren't": "were not",
    "haven't": "have not",
    "hasn't": "has not",
    "hadn't": "had not",
    "couldn't": "could not",
    "wouldn't": "would not",
    "shouldn't": "should not",
    "mustn't": "must not",
    "needn't": "need not",
    "shan't": "shall not",
    "ain't": "is not",
}

DEFAULT_CONVERSION_PHRASES: tuple[str, ...] = (
    "sign me up",
    "book that appointment",
    "let us proceed with the purchase",
    "i will take it",
    "count me in",
    "go ahead and place the order",
)
DEFAULT_UPSELL_WORDS: tuple[str, ...] = ("upgrade", "premium", "extra", "warranty", "add-on")
DEFAULT_POSITIVE_WORDS: tuple[str, ...] = (
    "excellent",
    "fantastic",
    "great",
    "satisfied",
    "happy",
    "thank",
    "thanks",
)
DEFAULT_NEGATIVE_WORDS: tuple[str, ...] = (
    "frustrated",
    "disappointed",
    "unacceptable",
    "angry",
    "terrible",
)
# Negations are never sentiment words: they neither count nor flip the word they precede
# (`not angry` still counts `angry`). Listed so a lexicon that includes one is refused.
DEFAULT_NEGATIONS: tuple[str, ...] = ("not", "no", "never", "cannot", "nor", "neither")
