"""What a person reads on a page: its visible text, its title, and the elements that should say
something but are blank (a heading, a list item, a term or its description, a table cell, a label)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Elements that a person reads as "here is a value": empty, they are a blank where data should be.
MUST_SAY = {"h1", "h2", "h3", "li", "dt", "dd", "td", "th", "label", "legend", "button", "title", "summary"}
UNSEEN = {"script", "style", "template"}
CONTROLS = {"input", "select", "textarea", "img", "svg", "button", "canvas"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Reading:
    text: str
    title: str
    blanks: list[str] = field(default_factory=list)

    def says(self, fact: str) -> bool:
        return " ".join(fact.split()) in self.text


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.open: list[tuple[str, bool, str]] = []  # (tag, has content, how it opened)
        self.unseen = 0
        self.in_title = False
        self.blanks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in UNSEEN:
            self.unseen += 1
        if tag == "title":
            self.in_title = True
        if tag in CONTROLS:
            self._mark()
        if tag in VOID:
            return
        described = " ".join(f'{k}="{v}"' for k, v in attrs if k in ("id", "class"))
        self.open.append((tag, False, f"<{tag} {described}>".replace(" >", ">")))
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in UNSEEN:
            self.unseen = max(self.unseen - 1, 0)
        if tag == "title":
            self.in_title = False
        while self.open:
            name, has_content, opened = self.open.pop()
            if name == tag:
                if tag in MUST_SAY and not has_content:
                    self.blanks.append(opened)
                break
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
            self._mark()
            return
        if self.unseen or not data.strip():
            return
        self.parts.append(data)
        self._mark()

    def _mark(self) -> None:
        self.open = [(tag, True, opened) for tag, _, opened in self.open]


def read(html: str) -> Reading:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    text = re.sub(r"\s+", " ", "".join(reader.parts)).strip()
    return Reading(text, " ".join("".join(reader.title).split()), reader.blanks)
