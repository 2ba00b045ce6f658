#!/usr/bin/env python3
"""Build the oracle's input texts from the extracted public-domain sources.

    make_inputs.py prompts  TEXTS_DIR GENESIS1_TXT PROMPTS_DIR
    make_inputs.py tokcases TEXTS_DIR GENESIS1_TXT OUT.json

TEXTS_DIR holds the Austen novels written by extract_austen.py (emma.txt,
prideprejudice.txt, persuasion.txt, ...).  GENESIS1_TXT is the output of
``bible -f -l 1000 -p DIR gen1:1-gen1:31`` (one verse per line, "Ge1:N text").

``prompts`` writes emma.txt, pride.txt and genesis1.txt into PROMPTS_DIR (no
trailing newline; the dump tool tokenizes files verbatim).  code.txt and
chat.json in PROMPTS_DIR are hand-written and committed, not generated.

``tokcases`` writes the JSON array of tokenizer test strings.

Python standard library only; the output is deterministic.
"""
import json
import os
import sys

# (output name, source book, first line of the excerpt, number of source lines).
# Each excerpt ends on a paragraph boundary and is >= 300 tokens for both models.
PROSE = [
    ("emma", "emma", "Emma Woodhouse, handsome, clever, and rich, with a comfortable home", 27),
    ("pride", "prideprejudice", "It is a truth universally acknowledged, that a single man in possession", 36),
]
GENESIS_VERSES = 13  # Genesis 1:1-1:13 ("... the third day.")


def book_lines(texts_dir, book):
    with open(os.path.join(texts_dir, book + ".txt"), encoding="utf-8") as f:
        text = f.read()
    assert text.endswith("\n")
    return text[:-1].split("\n")


def excerpt(lines, first_line, n):
    i = lines.index(first_line)
    out = lines[i:i + n]
    assert len(out) == n
    return "\n".join(out)


def paragraph(lines, first_line):
    i = lines.index(first_line)
    j = i
    while j < len(lines) and lines[j].strip():
        j += 1
    return "\n".join(lines[i:j])


def genesis_verses(path):
    verses = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            assert line.startswith("Ge1:"), line
            verses.append(line[2:])  # "1:1 In the beginning ..."
    assert len(verses) == 31, len(verses)
    return verses


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def prompts(texts_dir, genesis, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, book, first, n in PROSE:
        write(os.path.join(out_dir, name + ".txt"), excerpt(book_lines(texts_dir, book), first, n))
    write(os.path.join(out_dir, "genesis1.txt"), "\n".join(genesis_verses(genesis)[:GENESIS_VERSES]))


def tokcases(texts_dir, genesis, out):
    cases = [
        # empty / whitespace
        "",
        " ",
        "  ",
        "    ",
        "Hello world",
        " Hello world",
        "Hello world ",
        "Hello   world",
        "   leading and trailing   ",
        "\u00a0non-breaking\u00a0spaces\u00a0",
        # tabs and newlines
        "tab\tseparated\tvalues",
        "\t\tindented with tabs",
        "\n",
        "line one\nline two",
        "windows\r\nline endings\r\n",
        "para one\n\n\npara two",
        "\n\n\n",
        " \n \n\t\n",
        # digits
        "1",
        "12",
        "123",
        "1234",
        "12345678901234567890",
        "3.14159",
        "1,000,000",
        "In 1984 there were 365 days, 12 months and 52 weeks; 2024-01-15T10:30:00Z.",
        "0x1F 0b1010 1e-5 -42 +7",
        # contractions
        "It's here, don't go, they're sure, we've won, I'm done, you'll see, he'd know.",
        "IT'S DON'T THEY'RE WE'VE I'M YOU'LL HE'D",
        "The cat's toy, James' book and the dog'S bone",
        "'s 't 're 've 'm 'll 'd",
        # unicode
        "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00e9l\u00e8ve",
        "M\u00fcller \u00fcber Stra\u00dfe",
        "\u4e2d\u6587\u5206\u8bcd\u6d4b\u8bd5",
        "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059",
        "emoji \U0001F916 robot \U0001F44D\U0001F3FD thumbs",
        "e\u0301 vs \u00e9, n\u0303 and a\u0308",
        "\U0001F469\u200d\U0001F4BB coder and \U0001F468\u200d\U0001F469\u200d\U0001F467 family",
        "zero\u200bwidth\u200bspace",
        "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u0440\u0443\u0441\u0441\u043a\u0438\u0439 "
        "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0939\u093f\u0928\u094d\u0926\u0940 \ud55c\uad6d\uc5b4",
        "\ufb01 ligature and full-width \uff21\uff22\uff23\uff11\uff12\uff13",
        # punctuation
        "Wait!!! What??? ...really... --- *** ,,, ;;",
        "!@#$%^&*()_+-=[]{}|;':\",./<>?`~",
        "https://example.com/path?query=1&b=2#frag and someone@example.org",
        # code
        "def f(x):\n    if x:\n        return x * 2\n    return None\n",
        "fn main() {\n\tlet v: Vec<u8> = vec![1, 2, 3];\n\tprintln!(\"{:?}\", v);\n}\n",
        "    for (int i = 0; i < n; ++i) {\n        sum += a[i] * b[i];\n    }",
        # long words
        "Pneumonoultramicroscopicsilicovolcanoconiosis",
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "a" * 200,
        "abc" * 50 + "xyz",
        # special-token strings (tokenized with parse_special false and true)
        "<|im_start|>",
        "<|im_end|>",
        "<|endoftext|>",
        "<|im_start|>user\nHello there!<|im_end|>\n<|im_start|>assistant\n",
        "text<|im_end|>more text",
        "<|im_start|> spaced <|im_end|>",
        "<s> </s> [INST] <unk> <|fake_token|>",
    ]
    # three longer real paragraphs
    cases.append(paragraph(book_lines(texts_dir, "persuasion"),
                           "Sir Walter Elliot, of Kellynch Hall, in Somersetshire, was a man who,"))
    cases.append(paragraph(book_lines(texts_dir, "sensesensibility"),
                           "The family of Dashwood had long been settled in Sussex.  Their estate"))
    cases.append(" ".join(genesis_verses(genesis)[13:19]))
    with open(out, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print("%d tokenizer texts -> %s" % (len(cases), out))


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("prompts", "tokcases"):
        sys.exit(__doc__)
    cmd, texts_dir, genesis, out = sys.argv[1:]
    (prompts if cmd == "prompts" else tokcases)(texts_dir, genesis, out)


if __name__ == "__main__":
    main()
