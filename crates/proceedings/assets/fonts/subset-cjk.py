"""Rebuild NotoSansCJKjp-Regular-subset.otf from Debian's fonts-noto-cjk.

Usage (fontTools from PyPI, the font from Debian; see README.md):

    python3 subset-cjk.py /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

Keeps the characters of the national standards most text stays within:
JIS X 0208 (Japanese), GB 2312 (simplified Chinese) and KS X 1001 (Korean,
2,350 Hangul syllables), plus kana, CJK punctuation and symbols, radicals,
fullwidth forms and Hangul compatibility jamo. Rarer Han characters,
traditional-only ones outside those sets and the other 8,822 Hangul
syllables are left out to keep the binary about 14 MB smaller; a font
directory (EASEL_FONT_DIRS) with the full font covers them.
"""

import subprocess
import sys
from pathlib import Path

RANGES = [
    (0x2E80, 0x2FDF),  # CJK and Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31F0, 0x31FF),  # katakana phonetic extensions
    (0xFF00, 0xFFEF),  # half- and fullwidth forms
]


def two_byte(codec: str, cp: int) -> bool:
    """In the double-byte set of `codec` (not a composed or escaped form)."""
    try:
        return len(chr(cp).encode(codec)) == 2
    except UnicodeEncodeError:
        return False


def unicodes() -> list[int]:
    chars = set()
    for lo, hi in RANGES:
        chars.update(range(lo, hi + 1))
    for cp in range(0x3400, 0x10000):
        if two_byte("shift_jis", cp) or two_byte("gb2312", cp):
            chars.add(cp)
    chars.update(cp for cp in range(0xAC00, 0xD7A4) if two_byte("euc_kr", cp))
    return sorted(chars)


def main() -> None:
    source = sys.argv[1]
    out = Path(__file__).with_name("NotoSansCJKjp-Regular-subset.otf")
    listing = Path(__file__).with_name("cjk-unicodes.tmp")
    listing.write_text("\n".join(f"U+{cp:04X}" for cp in unicodes()))
    try:
        subprocess.run(
            [
                sys.executable, "-m", "fontTools.subset", source,
                "--font-number=0",  # Noto Sans CJK JP in the collection
                f"--unicodes-file={listing}",
                f"--output-file={out}",
                "--layout-features=*",
                "--no-hinting",
            ],
            check=True,
        )
    finally:
        listing.unlink()


if __name__ == "__main__":
    main()
