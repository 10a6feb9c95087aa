"""Text: the model's symbol set, per-language sentence generators and espeak-ng voices.

The model reads characters (as the paper's Tacotron): German and Dutch in their spelling, Chinese as
tone-numbered pinyin (``ni3 hao3``), Japanese as romaji. espeak-ng reads Chinese pinyin with its
``cmn-latn-pinyin`` voice and Japanese from kana, so Japanese sentences are built from morae that
have both a romaji and a kana spelling.
"""

from __future__ import annotations

import random

PAD, EOS = 0, 1
CHARACTERS = "abcdefghijklmnopqrstuvwxyzäöüßéëï12345 .,?!'-"
SYMBOLS = ("<pad>", "<eos>", *CHARACTERS)
_INDEX = {c: i for i, c in enumerate(SYMBOLS)}

LANGUAGE_NAMES = {"de": "German", "nl": "Dutch", "zh": "Chinese", "ja": "Japanese"}
# CSS10 folder names, so a real CSS10 download can be read with its own folder names
CSS10_FOLDERS = {"german": "de", "dutch": "nl", "chinese": "zh", "japanese": "ja"}

# One distinct "speaker" per language, as CSS10 has: espeak voice + variant, pitch, speed (wpm)
VOICES = {
    "de": ("de+m3", 40, 150),
    "nl": ("nl+f2", 65, 150),
    "zh": ("cmn-latn-pinyin+m1", 25, 140),
    "ja": ("ja+f4", 75, 155),
}

GERMAN = (
    "der die das und ist nicht ein eine ich du wir sie es haben sein werden kann muss heute morgen abend "
    "nacht tag jahr zeit haus stadt land wasser feuer brot milch kaffee buch schule kinder mutter vater "
    "freund freundin arbeit reise bahnhof zug auto straße wald berg fluss see himmel sonne regen schnee "
    "wind grün blau rot schwarz weiß groß klein schön schnell langsam gut schlecht alt neu früh spät "
    "immer nie oft gern sehr viel wenig gehen kommen sehen hören sprechen lesen schreiben essen trinken "
    "schlafen spielen fragen sagen denken glauben wissen lieben wohnen kaufen öffnen zeigen über unter "
    "vor nach mit ohne für gegen durch zwischen warum wann wie wo wer was zwölf fünf drei sieben"
).split()
DUTCH = (
    "de het een en is niet ik jij wij zij hebben zijn worden kan moet vandaag morgen avond nacht dag "
    "jaar tijd huis stad land water vuur brood melk koffie boek school kinderen moeder vader vriend "
    "vriendin werk reis station trein auto straat bos berg rivier meer hemel zon regen sneeuw wind "
    "groen blauw rood zwart wit groot klein mooi snel langzaam goed slecht oud nieuw vroeg laat altijd "
    "nooit vaak graag heel veel weinig gaan komen zien horen spreken lezen schrijven eten drinken "
    "slapen spelen vragen zeggen denken geloven weten houden wonen kopen openen tonen over onder voor "
    "na met zonder tegen door tussen waarom wanneer hoe waar wie wat twaalf vijf drie zeven fiets "
    "gezellig uit huis lucht boom bloem"
).split()
# pinyin syllables (espeak's cmn-latn-pinyin voice reads them with tone digits 1-5)
PINYIN = (
    "ni hao wo men ta shi bu zai you le de zhe na shen me zen yang hen hao chi fan he shui cha ka fei "
    "xue sheng lao shi peng you jia ren ma ba ge jie di mei tian qi yu xia xue feng shan he hai jing "
    "cheng shi shu dian nao che zhan gong zuo xue xiao yi yuan fang zi men kou kan ting shuo du xie "
    "zou pao lai qu mai mai zhu shui jiao xi huan ai xiang zhi dao ren shi jin tian ming tian zuo tian "
    "zao shang wan shang da xiao duo shao kuai man gao di xin jiu hong lv lan bai hei"
).split()
# Japanese morae: romaji (the model's input) -> hiragana (what espeak-ng reads)
KANA = {
    "a": "あ",
    "i": "い",
    "u": "う",
    "e": "え",
    "o": "お",
    "ka": "か",
    "ki": "き",
    "ku": "く",
    "ke": "け",
    "ko": "こ",
    "sa": "さ",
    "shi": "し",
    "su": "す",
    "se": "せ",
    "so": "そ",
    "ta": "た",
    "chi": "ち",
    "tsu": "つ",
    "te": "て",
    "to": "と",
    "na": "な",
    "ni": "に",
    "nu": "ぬ",
    "ne": "ね",
    "no": "の",
    "ha": "は",
    "hi": "ひ",
    "fu": "ふ",
    "he": "へ",
    "ho": "ほ",
    "ma": "ま",
    "mi": "み",
    "mu": "む",
    "me": "め",
    "mo": "も",
    "ya": "や",
    "yu": "ゆ",
    "yo": "よ",
    "ra": "ら",
    "ri": "り",
    "ru": "る",
    "re": "れ",
    "ro": "ろ",
    "wa": "わ",
    "n": "ん",
    "ga": "が",
    "gi": "ぎ",
    "gu": "ぐ",
    "ge": "げ",
    "go": "ご",
    "za": "ざ",
    "ji": "じ",
    "zu": "ず",
    "ze": "ぜ",
    "zo": "ぞ",
    "da": "だ",
    "de": "で",
    "do": "ど",
    "ba": "ば",
    "bi": "び",
    "bu": "ぶ",
    "be": "べ",
    "bo": "ぼ",
}
_MORAE = [m for m in KANA if m != "n"]


def _german(rng: random.Random, n: int) -> tuple[str, str]:
    text = " ".join(rng.choice(GERMAN) for _ in range(n))
    return text, text


def _dutch(rng: random.Random, n: int) -> tuple[str, str]:
    text = " ".join(rng.choice(DUTCH) for _ in range(n))
    return text, text


def _chinese(rng: random.Random, n: int) -> tuple[str, str]:
    words = []
    for _ in range(n):
        syllables = rng.choice((1, 2, 2))
        words.append("".join(f"{rng.choice(PINYIN)}{rng.randint(1, 4)}" for _ in range(syllables)))
    text = " ".join(words)
    return text, text


def _japanese(rng: random.Random, n: int) -> tuple[str, str]:
    romaji, kana = [], []
    for _ in range(n):
        morae = [rng.choice(_MORAE) for _ in range(rng.randint(2, 4))]
        if rng.random() < 0.2:
            morae.append("n")
        romaji.append("".join(morae))
        kana.append("".join(KANA[m] for m in morae))
    return " ".join(romaji), " ".join(kana)


GENERATORS = {"de": _german, "nl": _dutch, "zh": _chinese, "ja": _japanese}


def make_sentences(lang: str, count: int, seed: int, min_words: int, max_words: int) -> list[tuple[str, str]]:
    """``count`` (model text, text espeak-ng reads) pairs, deterministic in (lang, seed)."""
    rng = random.Random(f"{lang}:{seed}")
    out = []
    for _ in range(count):
        text, spoken = GENERATORS[lang](rng, rng.randint(min_words, max_words))
        end = rng.choice((".", ".", ".", "?", "!"))
        out.append((text + end, spoken + ("。" if lang == "ja" else end)))
    return out


def unknown_characters(text: str) -> list[str]:
    """Characters of ``text`` (lower-cased) outside the symbol set, in order of appearance."""
    seen = []
    for c in text.lower():
        if c not in _INDEX and c not in seen:
            seen.append(c)
    return seen


def encode(text: str) -> list[int]:
    """Symbol ids of ``text`` (lower-cased) followed by EOS; unknown characters raise ValueError."""
    bad = unknown_characters(text)
    if bad:
        raise ValueError(f"characters outside the symbol set: {' '.join(repr(c) for c in bad)}")
    return [_INDEX[c] for c in text.lower()] + [EOS]
